//! Through the front door (ReportCall, on SQLite and on Postgres + Redis): calls phrased in ways
//! the corpus hardly has. Danger typed in traditional characters, a person missing or held told
//! in English or pinyin, are P1; someone who posed as a utility company's staff is never sent
//! to 12345; phoning one's husband is no blow, and a towed car is no person taken. A call in
//! English takes its category from its words (a collapse is medical: an ambulance goes too).
//! A child gone the moment the parent turned round is P1; a stabbing a week past that the
//! caller now wants on file, a card stuck in a machine and a manhole cover gone are not. A call
//! that only addresses the police (是警察吗？…拜拜) is let go when the model is sure; a polite
//! "sorry" before an English call for help is no mis-dial. A driver who will not stop with the
//! doors locked, people shut in with their phones taken, a farewell with a rooftop photo and a
//! whispered "别过来" are P1. Sobbing and a man's "who are you calling", or a cry cut off by a
//! thud, on a silent line are P1; a child pulled into a van is P1; "can you come… never mind",
//! luggage held during a quarrel, boxes landed by boat at night and a fire left burning
//! unwatched are never let go; a question about paperwork that names the police station goes to
//! 12345. Workers locked in with their phones taken, a man walking in a motorway tunnel, a school
//! bus crash that hurt children, a coded call answered "嗯" to the call-taker's questions, a
//! farewell from a bridge, a child fetched by a self-styled uncle, a woman groped on a bus as
//! she speaks, a hit traffic-light pole about to fall on a pavement and a family kept in by debt
//! collectors are P1; door-to-door
//! "power company" collectors with no proof are never let go.

mod dispatch_support;
mod stories_support;

use pingan_proto::common::v1::Priority;
use pingan_proto::triage::v1::Kind;
use pingan_tests::{TestBackend, backend_tests};
use stories_support::*;

/// What a call must come out as.
enum Expect {
    /// Police (or joint) and P1.
    P1,
    /// Police (or joint), never diverted, at any priority.
    Held,
    /// Police (or joint), never diverted, not P1.
    HeldNotP1,
    /// Anything but P1.
    NotP1,
    /// P1 in this category (with the police, or joint where the category is).
    P1In(&'static str),
    /// This category, whatever the priority.
    In(&'static str),
    /// Invalid (a mis-dial, an idle call).
    Invalid,
    /// Sent to 12345 in this category.
    Diverted(&'static str),
    /// Held with the police with this safety rule in the explanation (its danger words defused;
    /// the priority is then the model's).
    Defused(&'static str),
}

backend_tests!(calls_phrased_in_other_ways_are_read_by_meaning);

async fn calls_phrased_in_other_ways_are_read_by_meaning(backend: TestBackend) {
    let stories = Stories::start(backend).await;
    let mut call_taker = stories.call_taker();
    let mut room = stories.command_room();
    let mut wrong = Vec::new();
    let cases = [
        (
            "trad-elder",
            "我阿公有失智症，下午三點多自己走出去就沒回來，他八十二歲，穿灰色外套，講台語，不太會講國語",
            Expect::P1,
        ),
        (
            "english-child",
            "Hi, my five year old son is missing, we were at the playground near gate 2",
            Expect::P1,
        ),
        (
            "pinyin-held",
            "wo bei guan zai yi ge fang jian li, bu zhi dao zhe shi na li, ta men mo zou le wo de shou ji",
            Expect::P1,
        ),
        (
            "english-collapse",
            "Hello? Do you speak English? My friend collapsed in the bathroom, she's not breathing, we're at the Hilton on Nanjing Road, room 1208, please hurry",
            Expect::P1In("MEDICAL"),
        ),
        (
            "english-complaint",
            "I want to file a complaint about an officer at the airport checkpoint this morning, he shouted at me",
            Expect::In("POLICE_CONDUCT"),
        ),
        (
            "child-vanished",
            "万达一楼，我女儿五岁，刚才还坐摇摇车上，一转身人没了，粉色羽绒服扎两个小辫",
            Expect::P1,
        ),
        (
            "past-stabbing",
            "上礼拜六在酒吧门口被人捅了一下，缝了六针，当时没报警，现在想补报",
            Expect::HeldNotP1,
        ),
        (
            "card-stuck",
            "公交卡在自助机上充了一百没到账，钱扣了",
            Expect::NotP1,
        ),
        (
            "manhole",
            "光明路小学门口井盖不见了，就一个黑窟窿，我先拿了把椅子挡上，你们赶紧派人来盖",
            Expect::Defused("safety.not_a_person"),
        ),
        (
            "idle-question",
            "喂，是警察吗？我就想问问你们警察过年放不放假，没别的事，拜拜",
            Expect::Invalid,
        ),
        (
            "misdial-takeaway",
            "喂？这不是外卖电话吗？啊，警察啊，不好意思打错了",
            Expect::Invalid,
        ),
        (
            "order-untaken",
            "网约车叫了半天没人接单，平台还加收调度费",
            Expect::NotP1,
        ),
        (
            "crops-burnt",
            "隔壁养殖场的粪水往我家稻田里排，秧苗都烧死了一片，找他们他们不认",
            Expect::NotP1,
        ),
        (
            "english-break-in",
            "Sorry, 我中文不太好, someone broke into my apartment, he is still inside, I'm hiding in the bathroom",
            Expect::P1,
        ),
        (
            "pills",
            "嗯…我吃了一整瓶安眠药，没什么事，就是想跟谁说一声",
            Expect::P1,
        ),
        (
            "tied-in-car",
            "我被人绑在车后座，偷偷拿手机打的，车在往高速上开，刚看到一个牌子写G4",
            Expect::P1,
        ),
        (
            "taxi-locked",
            "我在出租车上，司机不按导航走，开到一片荒地里了，还把车门锁了，我有点怕",
            Expect::P1,
        ),
        (
            "impostor-ticket",
            "市民来电反映：半小时前两名自称燃气公司的人上门“安检”，强行更换减压阀收费三百八十元，经核实燃气公司未派人，二人仍在小区挨家敲门。",
            Expect::HeldNotP1,
        ),
        (
            "taxi-will-not-stop",
            "出租车司机不按导航走一直往山里开，我说停车他不停，车门锁死了",
            Expect::P1,
        ),
        (
            "shut-in-dormitory",
            "工头把我们十几个人关在工地宿舍不让走，手机都收了，我借的电话",
            Expect::P1,
        ),
        (
            "farewell-rooftop",
            "我是初二班主任，刚收到学生微信说‘老师谢谢你，以后不用管我了’，配的照片是楼顶，电话不接",
            Expect::P1,
        ),
        (
            "whisper",
            "（接通后只有喘气声和很小声的哭）…别…别过来…（挂断）",
            Expect::P1,
        ),
        (
            "idiom-pressure",
            "考试压力大到爆炸，就想问一下今年中考体育加分政策有没有变",
            Expect::NotP1,
        ),
        (
            "impostor",
            "前天有两个人上门，说是自来水公司的，要换净水器，收了我两千块，今天打自来水公司电话，说根本没派人",
            Expect::HeldNotP1,
        ),
        (
            "phoning",
            "喂？喂？……没事，我刚才想打我老公电话按成110了",
            Expect::NotP1,
        ),
        (
            "towed",
            "我车停在路边被交警拖走了，没有任何通知，还要交三百拖车费",
            Expect::NotP1,
        ),
        // Session 46: what is heard on a silent or cut-off line, scenes told by their parts.
        (
            "sobbing-shout",
            "（接通后没人说话，只听到有人在小声抽泣，一个男的在骂“你在给谁打电话”，然后就挂了）",
            Expect::P1,
        ),
        (
            "cry-cut-off",
            "（女声，声音很低、急促）救……（一声闷响，通话中断，回拨无人接听）",
            Expect::P1,
        ),
        (
            "come-never-mind",
            "喂……你们能不能过来一下……唉算了算了（挂断）",
            Expect::Held,
        ),
        (
            "van",
            "刚才校门口我闺女被人拉上一辆面包车，银色的，往北开了",
            Expect::P1,
        ),
        (
            "luggage-held",
            "出租车司机不找钱 还把我行李扣在后备箱不让拿 我们在火车站出站口吵着呢",
            Expect::Held,
        ),
        (
            "night-landing",
            "我们这个海边码头有船半夜卸货 一箱一箱的烟 没有牌子的 好几次了咯",
            Expect::Held,
        ),
        (
            "paperwork",
            "请问一下，去派出所开无犯罪记录证明，要带什么材料啊",
            Expect::Diverted("POLICY_INQUIRY"),
        ),
        (
            "held-at-work",
            "老板把厂门锁了，不让我们出去，说这批货不干完谁也别想走，手机也收了，我这是藏起来的一个旧手机，我们十几个人，在城关镇往南那个鞋厂，没有招牌，铁门蓝色的",
            Expect::P1,
        ),
        (
            "tunnel-walker",
            "隧道里有个人在走！就是云岭隧道往北那头，穿黑衣服的，靠着墙在走，车都开八九十，我差点撞上",
            Expect::P1,
        ),
        (
            "unproven-official",
            "有两个人说是电力公司的，挨家挨户说要换智能电表，每家先收两百块，没穿工作服也没有证，刚从我家出去进了隔壁老王家，我们这是何家湾",
            Expect::Held,
        ),
        (
            "school-bus",
            "校车跟一个农用车撞了，撞得不是很厉害，但是车上几个小娃娃哭着说头疼，有一个额头肿了个大包，路也堵了",
            Expect::P1,
        ),
        (
            "coded-call",
            "喂，妈，我今晚不回去吃饭了… [接警员：你是不是有危险？是就说'嗯'] 嗯… [人在你旁边？] 对对，跟同事在一起呢 [你在哪？] 在东站旁边那个宾馆，叫悦来什么的 [他们不让你走？] 嗯，妈你别担心，手机他们要收了",
            Expect::P1,
        ),
        (
            "bridge-farewell",
            "我欠了网贷四十多万，老婆也走了。我现在在长江大桥上，中间那段。我就是想跟你们说一声，别让人来找我了",
            Expect::P1,
        ),
        (
            "pick-up-impostor",
            "我是向阳幼儿园的老师，放学的时候有个孩子被一个自称是他舅舅的人接走了，家长刚刚到说根本没有舅舅，已经过去二十多分钟了，是个男的骑电动车",
            Expect::P1,
        ),
        (
            "groped-now",
            "公交车上有个男的一直在摸我 我现在还在车上 他就站我后面 11路 快到中山公园站了 我不敢动",
            Expect::P1,
        ),
        (
            "pole-leaning",
            "十字路口那根红绿灯杆子被车撞歪了 斜着晃 眼看要倒 下面就是人行道 马上学生放学都从这走 育才路口",
            Expect::P1,
        ),
        (
            "kept-in-by-collectors",
            "有人在我家门口不走，说我老公欠他们钱，三个男的堵着门在踹，说不还钱今天谁也别想出这个门，就我跟孩子在家，我好怕……",
            Expect::P1,
        ),
        (
            "fire-unwatched",
            "小区绿化带里有人烧落叶，火不大，风一吹往旁边电动车棚那边飘，烧的人走了没人看着",
            Expect::Held,
        ),
    ];
    for (i, (id, text, expect)) in cases.into_iter().enumerate() {
        let (response, c) = report_apart(&mut call_taker, i, id, text).await;
        let with_police = matches!(c.kind(), Kind::Police | Kind::Joint);
        let p1 = c.priority() == Priority::P1;
        let right = match expect {
            Expect::P1 => with_police && p1,
            Expect::Held => with_police,
            Expect::HeldNotP1 => with_police && !p1,
            Expect::NotP1 => !p1,
            Expect::P1In(category) => with_police && p1 && c.category == category,
            Expect::In(category) => c.category == category,
            Expect::Invalid => c.kind() == Kind::Invalid,
            Expect::Diverted(category) => c.kind() == Kind::NonPolice && c.category == category,
            Expect::Defused(rule) => {
                with_police && c.matched_rules.iter().any(|r| r.rule_id == rule)
            }
        };
        if !right {
            wrong.push(format!(
                "{id}: {:?}/{}/{:?} {text}",
                c.kind(),
                c.category,
                c.priority()
            ));
        }
        let stored = incident(&mut room, &response.incident_id)
            .await
            .classification
            .expect("stored classification");
        assert_eq!(stored.priority, c.priority, "{text}");
        assert_eq!(stored.kind, c.kind, "{text}");
    }
    // Every case is read before failing, so one run names all that are wrong.
    assert!(wrong.is_empty(), "answered wrongly:\n{}", wrong.join("\n"));
    stories.shutdown().await;
}
