//! Tests of the safety layer's session-45 rules, read on probe calls phrased the corpus hardly
//! has (traditional script, English and pinyin, impostors, idioms): each both ways.

use super::tests::signals_of;
use super::*;
use crate::domain::rules::normalize;

#[test]
fn danger_typed_in_traditional_characters_is_danger() {
    for text in [
        "有個男人拿刀在學校門口，好多學生",
        "我家著火了，煙好大，奶奶還在樓上",
        "我阿公有失智症，下午自己走出去就沒回來",
    ] {
        assert!(!signals_of(text).danger.is_empty(), "{text}");
    }
}

#[test]
fn phoning_someone_is_no_blow() {
    for text in [
        "没事没事，我想打我老公电话按成110了",
        "我打了我姐好几次电话她都没接，后来她回了",
    ] {
        let s = signals_of(text);
        assert!(!s.danger.iter().any(|w| w == "打我"), "{text}: {s:?}");
        assert!(!s.conflict.iter().any(|w| w == "打我"), "{text}: {s:?}");
    }
    // A blow told beside a phone call is still a blow.
    for text in ["他打我，我打电话他就抢我手机", "他一直打我，电话都被他摔了"]
    {
        let s = signals_of(text);
        assert!(
            s.danger.iter().chain(&s.conflict).any(|w| w == "打我"),
            "{text}: {s:?}"
        );
    }
}

#[test]
fn a_person_missing_or_held_told_in_english_or_pinyin_is_danger() {
    for text in [
        "Hi, my five year old son is missing, we were at the playground near gate 2",
        "please help, I lost my grandma at the station, she has dementia",
        "wo bei guan zai yi ge fang jian li, bu zhi dao zhe shi na li",
        "they locked me in the basement and took my phone",
    ] {
        assert!(!signals_of(text).danger.is_empty(), "{text}");
    }
    // Things missing are not persons missing.
    for text in [
        "my wallet is missing, I think it was on the bus",
        "my phone is gone",
    ] {
        let s = signals_of(text);
        assert!(s.danger.is_empty(), "{text}: {s:?}");
    }
}

#[test]
fn someone_posing_as_an_organisation_is_never_diverted() {
    let s = signals_of(
        "前天两个人上门说是自来水公司的，换净水器收了我两千，今天打电话问，公司说根本没派人",
    );
    assert!(s.blocks_diversion(), "{s:?}");
    assert!(!s.conflict.is_empty(), "{s:?}");
    // A repair that never came is a service complaint, not an impostor.
    for text in [
        "报修三天了，物业一直没派人来修水管",
        "燃气公司说是今天上门检查，到现在也没派人来",
    ] {
        let s = signals_of(text);
        assert!(!s.blocks_diversion(), "{text}: {s:?}");
    }
}

#[test]
fn a_business_or_a_car_owner_not_answering_is_no_person_missing() {
    for text in [
        "健身房说装修关门三个月了，卡里还有钱，前台电话一直打不通",
        "楼下有辆车挡住我车库门了，打挪车电话没人接",
        "我车停在路边被交警拖走了，还要交三百拖车费",
    ] {
        let s = signals_of(text);
        assert!(s.danger.is_empty(), "{text}: {s:?}");
    }
    for text in [
        "有辆车挡住我车库门，车里有个女孩一直拍窗户，打车主电话没人接",
        "我女儿被一个男的拖走了",
    ] {
        let s = signals_of(text);
        assert!(!s.danger.is_empty(), "{text}: {s:?}");
    }
}

#[test]
fn a_call_in_english_names_its_category_by_whole_words() {
    let rules = CompiledRules::builtin().expect("rules");
    for (code, _) in LATIN_CATEGORIES {
        assert!(
            rules.category_index(code).is_some(),
            "{code} is no category"
        );
    }
    for (text, code) in [
        (
            "my friend collapsed in the bathroom, she is not breathing",
            "MEDICAL",
        ),
        (
            "there is a man with a knife, he stabbed the guard",
            "CRIMINAL_VIOLENT",
        ),
        ("my wallet was stolen on the bus", "CRIMINAL_PROPERTY"),
        (
            "I want to file a complaint about an officer at the checkpoint",
            "POLICE_CONDUCT",
        ),
        ("smoke is coming from the flat upstairs", "FIRE"),
    ] {
        let got = latin_category(&normalize(text)).map(|(c, _)| c);
        assert_eq!(got, Some(code), "{text}");
    }
    // Words inside other words name nothing ("shot" in "screenshot", "fire" in "firefox").
    assert_eq!(latin_category("i sent a screenshot from firefox"), None);
}

#[test]
fn a_case_years_past_wanted_on_file_is_not_rushed_to() {
    for text in [
        "三年前家里被入室抢劫过，保险公司要当时的报案记录，我去哪开",
        "十年前我爷爷被人打死了，凶手一直没抓到，能不能再查查",
        "上礼拜六在酒吧门口被人捅了一下，缝了六针，当时没报警，现在想补报",
        "去年有个人拿刀划了我胳膊，听说他现在放出来了，我想知道他当时判了几年",
    ] {
        let s = signals_of(text);
        assert!(s.danger.is_empty(), "{text}: {s:?}");
        assert!(!s.past.is_empty(), "{text}: {s:?}");
    }
    // Now, or fear now, makes the old case present.
    for text in [
        "三年前他拿刀砍过我，现在他又在我家楼下转",
        "去年他拿刀砍过我，听说他现在放出来了，刚才他就在我家楼下，我想知道怎么办",
    ] {
        let s = signals_of(text);
        assert!(!s.danger.is_empty(), "{text}: {s:?}");
    }
}

#[test]
fn things_gone_stuck_or_blown_down_are_no_person_in_danger() {
    for text in [
        "光明路小学门口井盖不见了，就一个黑窟窿，你们赶紧派人来盖",
        "公交卡在自助机上充了一百没到账，钱扣了",
        "昨晚暴风雨把路边一棵大梧桐刮倒了，横在人行道上，没砸着人",
        "村东头田里有人烧秸秆，浓烟飘进村，呛得人直咳嗽",
    ] {
        let s = signals_of(text);
        assert!(s.danger.is_empty(), "{text}: {s:?}");
    }
    for text in [
        "万达一楼，我女儿五岁，刚才还在这，一转身人没了",
        "井盖不见了，我家孩子掉下去了",
        "大树刮倒了，砸到一个老人，压在下面出不来",
    ] {
        let s = signals_of(text);
        assert!(!s.danger.is_empty(), "{text}: {s:?}");
    }
}

#[test]
fn a_word_that_only_addresses_the_police_gives_way_to_a_sure_model() {
    let s = signals_of("喂，是警察吗？我就想问问你们过年放不放假，拜拜");
    assert_eq!(s.blocking_words(), vec!["警察".to_owned()], "{s:?}");
    assert!(!s.blocking_words_at(0.5).is_empty());
    assert!(s.blocking_words_at(ADDRESSING_RELEASE).is_empty());
    assert_eq!(s.released_at(0.9), vec!["警察".to_owned()]);
    // Beside a word of harm it releases nothing.
    let s = signals_of("警察吗，我老公又在打我");
    assert!(!s.blocking_words_at(0.99).is_empty(), "{s:?}");
}

#[test]
fn crops_burnt_orders_untaken_and_falls_feared_are_no_danger() {
    for text in [
        "养猪场的粪水排到我家地里，秧苗都烧死了一片",
        "叫了半天网约车没人接单，平台还多收钱",
        "河边的护栏断了，晚上骑车容易掉下去，赶紧修修",
        "小区门口的减速带被压烂了，钉子都露出来了",
    ] {
        let s = signals_of(text);
        assert!(s.danger.is_empty(), "{text}: {s:?}");
    }
    for text in [
        "地里着火了，秧苗烧了，有个老人没跑出来被烧死了",
        "护栏断了，有个小孩掉下去了",
    ] {
        let s = signals_of(text);
        assert!(!s.danger.is_empty(), "{text}: {s:?}");
    }
}

#[test]
fn a_fourth_set_of_new_sentences_is_read_by_meaning() {
    for text in [
        "我吃了一整瓶安眠药，没什么事，就是想跟谁说一声",
        "我被人绑在车后座，偷偷拿手机打的，车在往高速上开",
        "我在出租车上，司机开到一片荒地里了，还把车门锁了",
        "Sorry, my Chinese is not good, someone broke into my apartment, I'm hiding in the bathroom",
    ] {
        let s = signals_of(text);
        assert!(!s.danger.is_empty(), "{text}: {s:?}");
    }
    // A polite "sorry" is no mis-dial; "wrong number" is.
    assert!(
        !signals_of("Sorry, my Chinese is bad, can you send someone")
            .unfamiliar
            .is_empty()
    );
    assert!(
        signals_of("Hello? Oh sorry, wrong number")
            .unfamiliar
            .is_empty()
    );
    for text in [
        "半小时前两名自称燃气公司的人上门安检，收费三百八，经核实燃气公司未派人",
        "废品站长期低价收购来路不明的电瓶和井盖，疑似销赃",
    ] {
        assert!(signals_of(text).blocks_diversion(), "{text}");
    }
    for text in [
        "附近工业园区傍晚常有刺鼻气味飘散，怀疑废气超标排放，要求环保部门检测",
        "小区周边有五六只流浪狗，担心咬伤孩子，要求收容",
    ] {
        let s = signals_of(text);
        assert!(s.danger.is_empty(), "{text}: {s:?}");
    }
}

#[test]
fn a_fifth_set_of_new_sentences_is_read_by_meaning() {
    for text in [
        "出租车司机不按导航走一直往山里开，我说停车他不停，车门锁死了",
        "工头把我们十几个人关在工地宿舍不让走，手机都收了，我借的电话",
        "刚收到学生微信说老师谢谢你，以后不用管我了，配的照片是楼顶，电话不接",
        "（接通后只有喘气声和很小声的哭）…别…别过来…（挂断）",
        "他朋友圈发了把刀，说今晚去学校报复，明天新闻见",
    ] {
        let s = signals_of(text);
        assert!(!s.danger.is_empty(), "{text}: {s:?}");
    }
    assert!(signals_of("解放路中间井盖没了，刚才一辆电动车差点掉进去").blocks_diversion());
    for text in [
        "下水道堵了，整栋楼的污水往我家冒，臭炸了",
        "这价格简直抢钱，景区一瓶矿泉水卖十五",
        "楼上空调外机滴水，我家窗台天天跟下雨似的",
        "网上买的电饭煲一插就跳闸，炸了好几回保险丝，商家不给退",
        "小区门禁坏了，刷卡刷不开，天天被关在门外头",
        "房东电话不接，押金也不退",
    ] {
        let s = signals_of(text);
        assert!(s.danger.is_empty(), "{text}: {s:?}");
    }
}

#[test]
fn a_sixth_set_of_idioms_is_no_danger() {
    for text in [
        "考试压力大到爆炸，就想问一下今年中考体育加分政策有没有变",
        "外卖平台大数据杀熟，同一份饭我比同事贵五块",
        "小区停车位被抢光了，外来车天天占，物业也不管",
        "早高峰公交挤爆了，我都快被压成照片了，能不能加几趟车",
        "我电动车昨晚停楼下，今早不见了，锁也没了",
        "小区电梯门把我的买菜小推车夹住了，卡了半天，人没事，物业也不来修",
    ] {
        let s = signals_of(text);
        assert!(s.danger.is_empty(), "{text}: {s:?}");
    }
    for text in ["有人在抢我的包，往车站跑了", "仓库爆炸了，有人被压在下面"]
    {
        assert!(!signals_of(text).danger.is_empty(), "{text}");
    }
}
