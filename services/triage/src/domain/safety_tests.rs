//! Tests of the safety layer: each rule both ways (words that count, words of another sense).

use super::*;
use crate::domain::scan::scan;

pub(super) fn signals_of(text: &str) -> Signals {
    let rules = CompiledRules::builtin().expect("rules");
    signals(&rules, &scan(&rules, text))
}

#[test]
fn danger_conflict_and_police_words_block_a_diversion() {
    assert!(!signals_of("有人拿着刀在楼下").danger.is_empty());
    assert!(!signals_of("我家孩子走丢了").danger.is_empty());
    assert!(!signals_of("邻居因为路灯的事跟我吵架").conflict.is_empty());
    assert!(signals_of("邻居因为路灯的事跟我吵架").blocks_diversion());
}

#[test]
fn plain_service_calls_and_negated_danger_do_not() {
    assert!(!signals_of("我们小区停水了，什么时候来水").blocks_diversion());
    assert!(signals_of("追尾了，没有人受伤").danger.is_empty());
    let negated = signals_of("电动车撞了一下，人没受伤也没流血");
    assert!(negated.danger.is_empty(), "{negated:?}");
    assert!(negated.blocks_diversion(), "a crash is police business");
    assert!(!signals_of("不是着火，就是燃气灶点不着，想找燃气公司").blocks_diversion());
    assert!(!signals_of("没人打架，就是楼上天天跳绳太吵").blocks_diversion());
    assert!(signals_of("没打架，但是他一直骂人还推我").blocks_diversion());
}

#[test]
fn words_of_another_sense_hold_nothing() {
    for text in [
        "停电了，整栋楼都没电，电力公司电话打不通",
        "暖气片漏水，供热公司电话打不通，该找谁",
        "我们这条街停水了，说是管道爆了在抢修",
        "物业说归热力公司，热力公司说归物业，来回踢皮球",
        "不是着火，是那边垃圾场一直在烧垃圾，黑烟一股一股的",
        "旁边砖厂天天冒黑烟，衣服晾外头都是黑的",
        "嘻嘻，警察叔叔你好，我是小明",
        "地库的排风扇坏了，物业说排期修",
        "村后山上有人偷偷埋医疗垃圾，针管都露出来了",
        "对面空地晚上有人偷偷倒建筑垃圾，堆成山了",
    ] {
        let s = signals_of(text);
        assert!(!s.blocks_diversion(), "{text}: {s:?}");
    }
}

#[test]
fn the_same_words_still_count_for_a_person() {
    for text in [
        "我妈八十多了，电话打不通，一个人在家",
        "手机快没电了，我迷路了，在山上",
        "屋里冒黑烟了，门打不开",
        "警察叔叔，我爸爸在打我妈妈",
        "我的电动车被偷了，我想报案",
        "老头子留下一把鸟铳，想上交",
    ] {
        let s = signals_of(text);
        assert!(s.blocks_diversion(), "{text}: {s:?}");
    }
}

#[test]
fn a_fire_put_out_holds_the_call_without_forcing_p1() {
    for text in [
        "刚才厨房油锅着火了，我拿锅盖盖灭了，现在没事了",
        "楼下垃圾桶冒烟，保安拿灭火器喷灭了",
        "门口的纸箱子烧起来了，我们已经浇灭了，就说一声",
    ] {
        let s = signals_of(text);
        assert!(s.danger.is_empty(), "{text}: {s:?}");
        assert!(s.blocks_diversion(), "{text}: {s:?}");
    }
    for text in [
        "厨房着火了，扑不灭，火越烧越大",
        "仓库着火了，刚扑灭又着起来了",
        "屋里着火了，火灭了但是我妈还在里面没出来",
        "着火了，没扑灭",
    ] {
        let s = signals_of(text);
        assert!(!s.danger.is_empty(), "{text}: {s:?}");
    }
    // Out, but someone was hurt: the fire words leave danger, the hurt stays.
    let hurt = signals_of("着火了已经扑灭了，我老公手上烫伤流血了");
    assert!(hurt.danger.contains(&"流血".to_owned()), "{hurt:?}");
    // A streetlight that goes out is no fire.
    assert!(!signals_of("路灯一到晚上就灭了，找谁修").blocks_diversion());
}

#[test]
fn a_crash_is_hurt_unhurt_or_unsaid() {
    assert_eq!(
        crash_hurt("电动车被出租车开门撞倒了，膝盖擦破了"),
        Some(true)
    );
    assert_eq!(crash_hurt("两辆车追尾了，人没事，车堵着路"), Some(false));
    assert_eq!(crash_hurt("电动车跟三轮车碰了一下，没受伤"), Some(false));
    assert_eq!(crash_hurt("路口两辆车撞了"), None);
}

#[test]
fn a_weapon_used_or_brandished_is_danger() {
    for text in [
        "有个人拿着菜刀在楼下追人",
        "他举着钢管冲我们过来了",
        "那个人手里有刀，说要杀了我",
        "有人在卖东西的摊子前面拿刀比划，要砍摊主",
        "他把刚买的水果刀掏出来顶着我",
    ] {
        let s = signals_of(text);
        assert!(!s.danger.is_empty(), "{text}: {s:?}");
        assert!(s.weapon_named.is_empty(), "{text}: {s:?}");
    }
}

#[test]
fn a_weapon_sold_found_or_lost_holds_the_call_but_is_not_danger() {
    for text in [
        "夜市有个摊子在卖匕首和砍刀，这个合法吗",
        "在草丛里捡到一把枪，我用袋子装着",
        "工地挖出来一颗手榴弹，锈得厉害",
        "我在公交上落了一袋菜刀，能帮忙找找吗",
        "家里老人留下一把猎枪，想上交",
    ] {
        let s = signals_of(text);
        assert!(s.danger.is_empty(), "{text}: {s:?}");
        assert!(!s.weapon_named.is_empty(), "{text}: {s:?}");
        assert!(s.blocks_diversion(), "{text}: a weapon is police business");
    }
    // Another danger word still counts: a weapon found next to a person bleeding.
    let s = signals_of("捡到一把刀，旁边有个人在流血");
    assert!(!s.danger.is_empty(), "{s:?}");
}

#[test]
fn a_fight_without_a_vehicle_is_told_from_a_crash() {
    assert!(fight_without_vehicle("有人在小区门口打架，有人受伤流血了"));
    assert!(fight_without_vehicle(
        "停车场旁边一群人在打一个人，把人打伤了"
    ));
    assert!(!fight_without_vehicle("两辆车撞了，司机下来打起来了"));
    assert!(!fight_without_vehicle("电动车追尾了，没人受伤"));
    assert!(!fight_without_vehicle("没打架，就是吵了几句"));
}

#[test]
fn colloquial_violence_and_persons_at_risk_are_danger() {
    for text in [
        "他把我按在地上往死里打",
        "我妈出门买菜到现在联系不上",
        "有个人站在天台边上",
        "屋里全是浓烟",
        "有没有人流血我也不知道",
    ] {
        assert!(!signals_of(text).danger.is_empty(), "{text}");
    }
}

#[test]
fn a_harm_said_over_and_hurting_nobody_holds_the_call_without_forcing_p1() {
    for text in [
        "刚才在公交站手机被抢了，那人骑车跑了，我没受伤",
        "被困在地下车库的电梯里半个小时了，人没事",
        "店门口被人推倒了，就蹭了一下，不严重，那人已经走了",
    ] {
        let s = signals_of(text);
        assert!(s.danger.is_empty(), "{text}: {s:?}");
        assert!(!s.harm_over.is_empty(), "{text}: {s:?}");
        assert!(s.blocks_diversion(), "{text}: {s:?}");
    }
    for text in [
        "包被抢了，人没事，但是他们还在追我",
        "孩子被困在电梯里，人没事",
        "手机被抢了，人没受伤，那人手里拿着刀",
        "抢了我的包，我没受伤，我妈被打得流血昏过去了",
        "被抢了，人没事，旁边有个人拿着刀",
        "我老公把我打得流血了，不严重，他出去了",
    ] {
        let s = signals_of(text);
        assert!(!s.danger.is_empty(), "{text}: {s:?}");
    }
}

#[test]
fn a_past_case_asked_about_holds_the_call_without_forcing_p1() {
    for text in [
        "前年我被人打伤了，想问问那个案子有进展没有",
        "去年被人抢劫过，想咨询一下怎么查询立案结果",
    ] {
        let s = signals_of(text);
        assert!(s.danger.is_empty(), "{text}: {s:?}");
        assert!(!s.past.is_empty(), "{text}: {s:?}");
        assert!(s.blocks_diversion(), "{text}: {s:?}");
    }
    for text in [
        "去年他打伤过我，今天他又来了，想问问怎么办",
        "上个月我被打骨折了，他现在在门口，能不能来人",
        "以前就想过自杀，想问问去哪看医生",
        "以前被他打伤过，想问问怎么办，我好怕他",
    ] {
        let s = signals_of(text);
        assert!(!s.danger.is_empty(), "{text}: {s:?}");
    }
}

#[test]
fn the_other_side_of_a_payment_gone_silent_is_no_person_missing() {
    for text in [
        "网上买手机付了款以后卖家就失联了",
        "按客服说的转账了，之后对方电话一直关机",
    ] {
        assert!(signals_of(text).danger.is_empty(), "{text}");
    }
    // A relative unreachable after paying a fraudster is a person at risk.
    let s = signals_of("我妈给骗子转账了五万，现在我妈联系不上了");
    assert!(!s.danger.is_empty(), "{s:?}");
}

#[test]
fn a_lost_person_with_the_caller_is_found_not_missing() {
    for text in [
        "超市门口有个老爷爷说他迷路了，他说得出儿子的名字，我们先陪着他",
        "我店里有个小姑娘跟妈妈走散了，妈妈电话打不通，我让她在收银台等着",
    ] {
        let s = signals_of(text);
        assert!(s.danger.is_empty(), "{text}: {s:?}");
        assert!(!s.found.is_empty(), "{text}: {s:?}");
        assert!(s.blocks_diversion(), "{text}: {s:?}");
    }
    for text in [
        "我家孩子走丢了，到处找不到",
        "门口有个老人迷路了，摔了一跤头上在流血",
    ] {
        assert!(!signals_of(text).danger.is_empty(), "{text}");
    }
}

#[test]
fn blood_pressure_is_not_bleeding() {
    let s = signals_of("我爸血压一下子到了两百，头晕");
    assert!(!s.danger.iter().any(|w| w.contains('血')), "{s:?}");
    assert!(!signals_of("鼻子一直在流血，止不住").danger.is_empty());
}

#[test]
fn an_animal_or_a_thing_in_trouble_is_no_person_in_danger() {
    for text in [
        "我家猫钻进汽车发动机舱里了，卡住出不来",
        "在地铁上把背包落在座位上了，回去找已经不见了",
        "有辆车把我们单元门口堵了，挪车电话一直没人接",
    ] {
        let s = signals_of(text);
        assert!(s.danger.is_empty(), "{text}: {s:?}");
        assert!(!s.not_a_person.is_empty(), "{text}: {s:?}");
        assert!(s.blocks_diversion(), "{text}: {s:?}");
    }
    for text in [
        "我家狗跑丢了，我儿子去追狗，到现在也联系不上",
        "孩子去救那只猫，自己也卡在栏杆里出不来了",
        "钱包不见了，我妈出去找到现在打不通电话",
    ] {
        let s = signals_of(text);
        assert!(!s.danger.is_empty(), "{text}: {s:?}");
    }
}

#[test]
fn a_break_in_found_afterwards_holds_the_call_without_forcing_p1() {
    for text in [
        "仓库的门被撬了，少了两台发电机，今天上班才发现",
        "车库里我的电动车锁叫人撬了，车没了",
    ] {
        let s = signals_of(text);
        assert!(s.danger.is_empty(), "{text}: {s:?}");
        assert!(!s.break_in_found.is_empty(), "{text}: {s:?}");
        assert!(s.blocks_diversion(), "{text}: {s:?}");
    }
    for text in [
        "有人在撬我家的门，我一个人在屋里",
        "后门被撬了，里面还有动静，人可能还没走",
    ] {
        let s = signals_of(text);
        assert!(!s.danger.is_empty(), "{text}: {s:?}");
    }
}

#[test]
fn smoke_with_no_flame_holds_the_call_without_forcing_p1() {
    let s = signals_of("楼下电表箱冒烟了，滋滋响，没看到明火");
    assert!(s.danger.is_empty(), "{s:?}");
    assert!(!s.fire_out.is_empty(), "{s:?}");
    for text in [
        "厨房冒烟了，没有明火，但是我妈还在里面出不来",
        "仓库冒烟，刚才没有明火，现在火势起来了",
    ] {
        let s = signals_of(text);
        assert!(!s.danger.is_empty(), "{text}: {s:?}");
    }
}

#[test]
fn signs_of_a_stroke_and_rising_water_are_danger() {
    for text in [
        "我爷爷吃着饭突然嘴歪了，说话不清楚",
        "我妈半边身子动不了了，刚才还好好的",
        "河滩上有人被水围住了，水越涨越高",
    ] {
        assert!(!signals_of(text).danger.is_empty(), "{text}");
    }
}

#[test]
fn danger_in_english_or_pinyin_is_danger_as_whole_words() {
    for text in [
        "Help me, there is a man with a knife in my flat",
        "my son fell in the river, he cannot swim",
        "wo peng you luo shui le, kuai lai",
    ] {
        assert!(!signals_of(text).danger.is_empty(), "{text}");
    }
    // "river" inside "driver" is no river.
    let s = signals_of("the taxi driver took the long way and charged me double");
    assert!(s.danger.is_empty(), "{s:?}");
}

#[test]
fn a_call_the_model_cannot_read_is_never_let_go_on_its_word() {
    let s = signals_of("Hello, I would like to ask how to extend my visa");
    assert!(!s.unfamiliar.is_empty(), "{s:?}");
    assert!(s.blocks_diversion(), "{s:?}");
    for text in [
        "Hello? Sorry, wrong number",
        "我在ktv门口被人打了",
        "我们小区停水了，什么时候来水",
    ] {
        assert!(signals_of(text).unfamiliar.is_empty(), "{text}");
    }
}
