//! Tests of the safety layer's session-46 rules (`scene_words`), read on probe calls written by
//! people who had not read the corpus: what is heard on the line, scenes told by their parts.
//! Each both ways.

use super::tests::signals_of;

fn holds(text: &str) -> bool {
    !signals_of(text).blocking_words().is_empty()
}

#[test]
fn distress_heard_on_a_silent_or_cut_off_call_holds_it() {
    for text in [
        "（接通后无人说话，能听到压低的抽泣声，随即挂断）",
        "（电话那头只有呜咽声，问什么都不回答）",
        "（对方没说话，背景里一声闷响，然后就断了）",
        "那个……你们能不能来一下……算了算了（挂断）",
    ] {
        assert!(holds(text), "{text}");
    }
    // A silent call with nothing heard, a child playing, and a laugh hold nothing.
    for text in [
        "（接通后无人说话，几秒后挂断，回拨无人接听）",
        "嘻嘻嘻，我是小猪佩奇，拜拜",
    ] {
        assert!(!holds(text), "{text}: {:?}", signals_of(text));
    }
}

#[test]
fn someone_stopping_the_call_or_a_cry_cut_off_is_danger() {
    for text in [
        "（能听到抽泣，一个男声吼“你给谁打电话”，随即挂断）",
        "他说不许报警，把我手机拿走了",
        "（女声，很急）救……（一声闷响，通话中断）",
        "我娃儿放学被人拉上一个面包车了，同学看到的",
        "刚才两个蒙着脸的人进了隔壁金店",
        "楼下老太太叫了一声就没动静了",
        "我妹在酒吧被几个人围着，不让她走",
    ] {
        assert!(!signals_of(text).danger.is_empty(), "{text}");
    }
    // Asking whom to call, a friend helped upstairs, someone pulled onto the bank, an ambulance's
    // number: no danger from these words.
    for text in [
        "我想问一下给谁打电话能查社保",
        "他喝多了，被朋友拉上楼睡觉了",
        "那个小伙子已经被人拽上岸了，在边上坐着",
        "救护车的电话是多少",
    ] {
        let s = signals_of(text);
        assert!(s.danger.is_empty(), "{text}: {s:?}");
    }
}

#[test]
fn a_quarrel_going_on_or_belongings_withheld_hold_a_call() {
    for text in [
        "出租车司机不找钱，还把我行李扣在后备箱不让拿，我们在出站口吵着呢",
        "房东把我的东西扣着不给，还在吵",
    ] {
        assert!(!signals_of(text).conflict.is_empty(), "{text}");
    }
    // A noise complaint that keeps someone awake is no quarrel.
    let text = "楼上装修的电钻声吵得我睡不着，能不能管管";
    let s = signals_of(text);
    assert!(
        !s.conflict
            .iter()
            .any(|w| ["吵着呢", "还在吵", "不让拿"].contains(&w.as_str())),
        "{text}: {s:?}"
    );
}

#[test]
fn scenes_told_by_their_parts_hold_a_call() {
    for text in [
        "我们这个海边码头有船半夜卸货，一箱一箱的烟，没有牌子的",
        "迎宾大道收费站过去一棵大树倒伏，横在两条车道上，车辆紧急变道，已有车辆急刹",
        "绿化带里有人烧落叶，火不大，烧的人走了没人看着",
    ] {
        assert!(holds(text), "{text}");
    }
    // One part alone is no scene: a lorry unloading at night is noise, a bus driver's hard
    // braking a service complaint, a tree down with no traffic at risk the city's, a fire watched
    // in a fireplace no hazard.
    for text in [
        "超市每天半夜卸货，吵得睡不着",
        "这个公交司机老是急刹车，老人差点摔倒，我要投诉",
        "小区里一棵树倒伏了，压在围墙上",
        "壁炉里的火还在烧，一家人都在旁边守着",
    ] {
        assert!(!holds(text), "{text}: {:?}", signals_of(text));
    }
}

#[test]
fn the_station_named_in_a_question_about_paperwork_holds_nothing() {
    for text in [
        "请问去派出所开户籍证明要带什么材料",
        "暂住证过期了，是去派出所续签还是网上能办",
    ] {
        let s = signals_of(text);
        assert!(!s.conflict.iter().any(|w| w == "派出所"), "{text}: {s:?}");
    }
    // A case told beside the paperwork, or the station asked to step in, keeps it.
    for text in [
        "我昨天被人打了，要去派出所做笔录，要带什么",
        "邻居天天骂我，派出所能不能管管",
        "我想问问派出所什么时候上班",
    ] {
        let s = signals_of(text);
        assert!(s.conflict.iter().any(|w| w == "派出所"), "{text}: {s:?}");
    }
    // Other signal words still hold a paperwork question.
    let text = "身份证被偷了，补办要去哪个派出所";
    assert!(!signals_of(text).conflict.is_empty(), "{text}");
}

#[test]
fn people_held_on_foot_in_fast_traffic_hurt_aboard_or_facing_an_unproven_official_are_read() {
    for text in [
        "老板把厂门锁了，不让我们出去，手机也收了",
        "高速上有个行人沿着护栏在走，车都很快",
        "送孩子的校车被货车蹭了，两个小孩说头疼",
    ] {
        assert!(!signals_of(text).danger.is_empty(), "{text}");
    }
    // A walk, or a tunnel, alone is no danger.
    for text in ["我每天步行上班，路过那个隧道口", "隧道里的灯坏了好几盏"]
    {
        let s = signals_of(text);
        assert!(s.danger.is_empty(), "{text}: {s:?}");
    }
    // Someone who claims to be from a utility and shows no proof is an impostor; a caller who
    // has no certificate of their own is not.
    let s = signals_of("有两个人说是电力公司的，上门收钱换电表，没穿工作服也没有证");
    assert!(!s.conflict.is_empty(), "{s:?}");
    let s = signals_of("我想开个小饭馆，没有证能不能先营业");
    assert!(s.conflict.is_empty(), "{s:?}");
}

#[test]
fn a_coded_call_a_farewell_on_a_bridge_and_a_child_taken_by_an_impostor_are_danger() {
    for text in [
        "妈，我今晚不回去了[接警员：你是不是有危险？是就说嗯] 嗯",
        "我欠了一身债，现在在大桥上，别让人来找我了",
        "放学时有个自称是孩子姑父的人把他接走了，家长说根本没有这个姑父",
    ] {
        assert!(!signals_of(text).danger.is_empty(), "{text}");
    }
    // A parcel taken by a self-styled courier, a child picked up by a known relative: no danger.
    for text in [
        "有个自称快递员的人把门口的包裹带走了",
        "孩子今天是他舅舅接走的，我就问问几点放学",
    ] {
        let s = signals_of(text);
        assert!(s.danger.is_empty(), "{text}: {s:?}");
    }
}

#[test]
fn groping_now_people_kept_in_and_something_about_to_fall_on_people_are_danger() {
    for text in [
        "地铁上后面那个男的一直摸我，我现在还在车上",
        "路口的广告牌被风吹得歪了，眼看要倒，下面全是等车的人",
        "催债的几个人堵在门口，说今天谁也别想出来",
    ] {
        assert!(!signals_of(text).danger.is_empty(), "{text}");
    }
    // A child touching a dog, a tree already fallen in a park: no danger from these words.
    for text in ["孩子摸了一下邻居家的狗", "公园里那棵树已经倒了，挡着小路"]
    {
        let s = signals_of(text);
        assert!(s.danger.is_empty(), "{text}: {s:?}");
    }
}
