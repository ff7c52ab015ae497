//! New phrasings written for this test (not the labelled corpus): the rules must generalise.
//! Each line: text, expected kind, expected priority ("*" = any).

use pingan_triage::domain::classify::classify;
use pingan_triage::domain::rules::CompiledRules;

const CASES: &[(&str, &str, &str, &str)] = &[
    ("110", "救命啊，有个人拿着菜刀在我家门口", "POLICE", "P1"),
    ("110", "我被两个人打了，他们还在旁边", "POLICE", "P1"),
    ("110", "刚才有人骑摩托车把我手机抢走了", "POLICE", "P1"),
    ("110", "河边有个小孩掉进水里了", "POLICE", "P1"),
    (
        "110",
        "我妈妈有老年痴呆，今天下午出门到现在都没回来",
        "POLICE",
        "P1",
    ),
    ("110", "我女儿放学后联系不上了", "POLICE", "P1"),
    ("110", "有个女的坐在桥栏杆上说不想活了", "POLICE", "P1"),
    (
        "110",
        "前面路口电动车和轿车撞了，骑车的人头上流血",
        "JOINT",
        "P1",
    ),
    ("110", "仓库起火了，火很大", "JOINT", "P1"),
    ("110", "我爸突然倒在地上抽搐，口吐白沫", "JOINT", "P1"),
    ("110", "厨房煤气味很重，是不是漏气了", "JOINT", "P1"),
    (
        "110",
        "我丈夫喝了酒一直在打我，我躲在卫生间",
        "POLICE",
        "P1",
    ),
    ("110", "楼下一伙人拿着棍子在打架", "POLICE", "P1"),
    (
        "110",
        "有陌生男人撬门进了我家，现在还在屋里",
        "POLICE",
        "P1",
    ),
    ("110", "电梯里困住了一个老人，按铃没人应", "POLICE", "P1"),
    (
        "110",
        "停车场两辆车刮蹭了，没有人受伤，对方不肯走",
        "POLICE",
        "*",
    ),
    ("110", "我的自行车昨天晚上被偷了", "POLICE", "P3"),
    (
        "110",
        "有人冒充客服让我下载软件，我转了三万块",
        "POLICE",
        "P2",
    ),
    ("110", "我在网上投资理财被骗了两万", "POLICE", "P3"),
    ("110", "小区里有几个人在吸毒", "POLICE", "P2"),
    ("110", "我的包落在公交车上了，里面有证件", "POLICE", "P2"),
    (
        "110",
        "邻居家装修把我家墙弄裂了，我们吵起来了",
        "POLICE",
        "P3",
    ),
    ("110", "家门钥匙丢了，进不去门", "POLICE", "P3"),
    ("110", "我们这里已经停电一整天了", "NON_POLICE", "P4"),
    ("110", "自来水黄黄的，有怪味", "NON_POLICE", "P4"),
    (
        "110",
        "饭店的菜里吃出了虫子，老板不给退款",
        "NON_POLICE",
        "P4",
    ),
    (
        "110",
        "公司三个月没发工资了，老板跑了，我们要讨薪",
        "NON_POLICE",
        "P4",
    ),
    (
        "110",
        "物业把电梯停了，收物业费也不管事",
        "NON_POLICE",
        "P4",
    ),
    ("110", "我想咨询一下居住证怎么办理", "NON_POLICE", "P4"),
    ("110", "马路中间有个大坑，好几天没人修", "NON_POLICE", "P4"),
    (
        "110",
        "隔壁饭店油烟太大，熏得我们没法开窗",
        "NON_POLICE",
        "P4",
    ),
    ("110", "公交车老是不按时来，班次太少", "NON_POLICE", "P4"),
    (
        "110",
        "我要投诉交警执法不公，乱罚款",
        "COMPLAINT_ABOUT_POLICE",
        "P4",
    ),
    (
        "110",
        "派出所的警察对我态度恶劣，我要反映",
        "COMPLAINT_ABOUT_POLICE",
        "P4",
    ),
    ("110", "不好意思，小孩按错了", "INVALID", "P4"),
    ("110", "（无声，对方挂断）", "INVALID", "P4"),
    ("110", "嗯", "POLICE", "*"),
    (
        "12345",
        "小区门口有人摆摊卖假烟，还有人在那赌钱",
        "POLICE",
        "*",
    ),
    ("12345", "楼下有人天天聚众吸毒，影响很坏", "POLICE", "*"),
    ("12345", "我家楼道的灯坏了", "NON_POLICE", "P4"),
    ("12345", "有个男人一直跟踪我下班回家", "POLICE", "P2"),
];

#[test]
fn new_phrasings_are_classified_safely() {
    let rules = CompiledRules::builtin().expect("rules");
    let mut failures = Vec::new();
    let mut unsafe_answers = Vec::new();
    for (channel, text, kind, priority) in CASES {
        let c = classify(&rules, text, &format!("CHANNEL_{channel}"), "");
        let needs_police = matches!(*kind, "POLICE" | "JOINT");
        if needs_police && !c.kind.stays_with_police() {
            unsafe_answers.push(*text);
        }
        if *priority == "P1" && c.priority.as_str() != "P1" {
            unsafe_answers.push(*text);
        }
        if c.kind.as_str() != *kind || (*priority != "*" && c.priority.as_str() != *priority) {
            failures.push(format!(
                "{text}: expected {kind}/{priority}, got {}/{}/{} {:?}",
                c.kind.as_str(),
                c.category,
                c.priority.as_str(),
                c.matched
                    .iter()
                    .map(|m| m.explanation.clone())
                    .collect::<Vec<_>>()
            ));
        }
    }
    for f in &failures {
        println!("{f}");
    }
    println!(
        "paraphrases: {}/{} as expected",
        CASES.len() - failures.len(),
        CASES.len()
    );
    assert!(
        unsafe_answers.is_empty(),
        "unsafe answers: {unsafe_answers:?}"
    );
    assert!(failures.len() * 10 <= CASES.len(), "too many misses");
}
