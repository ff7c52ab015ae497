//! Calls written in session 36 after the model was trained, by someone who had not read the
//! held-out split: police matters that carry words of 12345 business (物业, 停水, 井盖, 垃圾,
//! 中介, 燃气公司 …) must never leave the police, and emergencies told without the corpus's
//! words must be P1. A check that the safety layer generalises, answered by the shipped model.

use pingan_triage::domain::Priority;
use pingan_triage::domain::rules::CompiledRules;
use pingan_triage::model::Model;

/// Police matters (conflict, harm, coercion) inside the words of municipal, property,
/// utility and consumer business.
const POLICE_IN_12345_WORDS: &[&str] = &[
    "楼下那户人家把垃圾堆在楼道里，我说了他两句，他就拿拖把杆子要打我",
    "物业保安跟业主在小区门口推来推去，业主被推倒在地上了",
    "隔壁装修工人把我家墙打穿了，我去找他们，几个工人把我围住不让走",
    "小区停车位被人占了，我去理论，那个男的揪着我衣领不放",
    "邻居家的狗咬了我儿子，腿上好几个牙印，他们还不承认",
    "路灯下面有个男的一直跟着我走，我走快他也走快",
    "我们村修路的钱被村干部拿走了，村民围在村委会门口，有人开始推搡",
    "楼上漏水泡了我家，我上去敲门，他开门就骂还推了我一把",
    "小区里有人偷偷往别人车上划，监控拍到了，是个穿黑衣服的",
    "工地上两个工人因为工钱动起了手，一个脑袋上出血了",
    "燃气公司的人上门检查，进屋后就拿着我的手机不还，说要交三百才给",
    "我在菜市场买菜，摊主缺斤少两，我说了他一句，他拿秤砣砸我",
    "我家老人去社区开证明，回来的路上被人骗走了两万块钱",
    "物业经理带着几个人把我家门锁给换了，说我欠物业费，我进不了家",
    "我们楼有个人天天往楼下扔酒瓶子，今天差点砸到小孩",
    "停水三天了，我去自来水公司问，门口保安把我推出来还踹了一脚",
    "邻居在公共走廊堆东西，我挪了一下，他老婆冲出来挠我脸，脸上都是血道子",
    "有个人在公园湖边把一个小孩往水边拖，小孩一直在哭",
    "小区垃圾站旁边躺着一个人，叫他也不动，身上有酒味",
    "供暖不热我去物业理论，物业的人把我锁在办公室里不让出来",
    "卖房的中介把我押金卷走了，人也找不到了，公司门都关了，好几个人被骗",
    "刚才有个收废品的进了我们小区，趁没人把我家门口的电动车推走了",
    "马路上井盖没了，一个骑电动车的掉进去了，人卡在里面出不来",
    "楼下烧烤店的老板跟顾客打起来了，啤酒瓶子满地都是",
    "我老公喝了酒回来又摔东西，说物业费是我乱交的，要弄死我",
];

/// Emergencies (P1): violence, persons taken or at risk, injuries, fire, water, poisoning.
const EMERGENCIES: &[&str] = &[
    "有个男的在小区门口抱着一个不是他家的小孩往车上走，小孩一直喊妈妈",
    "我闺蜜刚给我发微信说她被男朋友关在屋里打，手机马上要被收走",
    "河堤上一个老太太往水里走，水已经到腰了",
    "家里的高压锅炸了，我妈脸上手上全烫伤了",
    "工厂车间有人被机器压住了腿，血止不住",
    "我儿子吞了一颗纽扣电池，刚刚的事",
    "楼道里一股很浓的烧焦味，还有烟从302门缝里冒出来，敲门没人开",
    "有个醉汉拿着酒瓶子在公交车上乱挥，司机把车停路边了",
    "我前夫在我单位门口堵我，说今天不跟他走就泼我硫酸",
    "一个女孩在天桥上坐着，腿悬在外面，喊她也不回",
    "我爷爷在地里打农药，现在晕乎乎的吐了好几次",
    "几个初中生把一个同学拖到巷子里扇耳光，还在拍视频",
    "高速上一辆大货车侧翻了，驾驶室里的人出不来",
    "地下室进水了，我爸在里面搬东西，水涨得很快",
    "有人在银行门口抢了一个老太太的包，老太太摔倒头磕破了",
];

/// The shipped rules and model, loaded once for the file's tests.
fn answer(text: &str) -> pingan_triage::domain::classify::Classification {
    static SHIPPED: std::sync::OnceLock<(CompiledRules, Model)> = std::sync::OnceLock::new();
    let (rules, model) = SHIPPED.get_or_init(|| {
        (
            CompiledRules::builtin().expect("shipped rules load"),
            Model::builtin().expect("shipped model loads"),
        )
    });
    model.classify(rules, text, "CHANNEL_110", "")
}

#[test]
fn police_matters_in_the_words_of_12345_business_stay_with_the_police() {
    let diverted: Vec<(&str, String)> = POLICE_IN_12345_WORDS
        .iter()
        .map(|text| (*text, answer(text)))
        .filter(|(_, c)| !c.kind.stays_with_police())
        .map(|(text, c)| (text, format!("{:?}/{}", c.kind, c.category)))
        .collect();
    assert!(diverted.is_empty(), "diverted: {diverted:#?}");
}

#[test]
fn emergencies_told_in_other_words_are_p1_and_police() {
    for text in EMERGENCIES {
        let c = answer(text);
        assert!(c.kind.stays_with_police(), "{text}: {c:#?}");
        assert_eq!(
            c.priority,
            Priority::P1,
            "{text}: {:?}/{}",
            c.kind,
            c.category
        );
    }
}
