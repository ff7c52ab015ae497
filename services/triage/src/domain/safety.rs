//! The safety layer above the model: signs in the text that a call is police business whatever
//! the model thinks. Danger (the rules' danger modifiers: weapons, injury, life at risk, an attack
//! now; and persons missing or taken) forces P1 and the police; interpersonal conflict or harm,
//! or a strong police word of the rules, forbids a diversion.

use super::rules::CompiledRules;
use super::scan::Scan;
use super::signal_words::{
    CONFLICT, CRASH_HURT, CRASH_UNHURT, DANGER, FIGHT, FIRE_NOT_OUT, FIRE_OUT, FIRE_WORDS,
    NEGATION_CUES, NEGATION_WINDOW, NOT_DANGER, NOT_IN_CONTEXT, ORGANISATIONS, UNCERTAIN,
    UNREACHABLE, VEHICLE, WEAPON_NOT_USED, WEAPON_OBJECTS, WEAPON_USED,
};

/// What the safety layer saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Signals {
    /// Danger words (weapons, injury, life at risk, attack now, missing or taken).
    pub danger: Vec<String>,
    /// Conflict or harm between people.
    pub conflict: Vec<String>,
    /// Strong words (weight 3) of a police or joint category's rules.
    pub police: Vec<String>,
    /// Weapon words of a call that names a weapon only (sold, found, lost, handed in) and says
    /// nothing of its use: they hold the call with the police but do not force P1.
    pub weapon_named: Vec<String>,
    /// Fire words of a call that says the fire is out (and nothing of it burning still): they
    /// hold the call with the police but do not force P1.
    pub fire_out: Vec<String>,
}

impl Signals {
    /// True when the call must not leave the police.
    pub fn blocks_diversion(&self) -> bool {
        !(self.danger.is_empty()
            && self.conflict.is_empty()
            && self.police.is_empty()
            && self.weapon_named.is_empty()
            && self.fire_out.is_empty())
    }

    /// Every word that blocks a diversion, for the explanation.
    pub fn blocking_words(&self) -> Vec<String> {
        super::classify::dedup(
            self.danger
                .iter()
                .chain(&self.conflict)
                .chain(&self.police)
                .chain(&self.weapon_named)
                .chain(&self.fire_out)
                .cloned(),
        )
    }
}

fn found(norm: &str, words: &[&str]) -> Vec<String> {
    words
        .iter()
        .filter(|w| norm.contains(**w))
        .map(|w| (*w).to_owned())
        .collect()
}

/// The text with the phrases that hold a danger word but no danger taken out.
/// Every "organisation (+ 电话) + unreachable" phrase, built once.
fn organisations_unreachable() -> &'static [String] {
    static PHRASES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    PHRASES.get_or_init(|| {
        let mut phrases = Vec::new();
        for org in ORGANISATIONS {
            for link in ["电话", "的电话", "电话一直", ""] {
                for word in UNREACHABLE {
                    phrases.push(format!("{org}{link}{word}"));
                }
            }
        }
        phrases
    })
}

/// [`NOT_DANGER`], longest first: a shorter phrase inside a longer one (偷埋 in 偷偷埋) must not cut
/// the longer one apart and leave its signal word behind (偷).
fn not_danger_longest_first() -> &'static [&'static str] {
    static PHRASES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    PHRASES.get_or_init(|| {
        let mut phrases = NOT_DANGER.to_vec();
        phrases.sort_by_key(|p| std::cmp::Reverse(p.chars().count()));
        phrases
    })
}

fn without_false_danger(norm: &str) -> String {
    let mut text = norm.to_owned();
    for phrase in not_danger_longest_first() {
        text = text.replace(phrase, "，");
    }
    // An organisation that does not answer (供电局电话打不通) is not a person missing.
    if UNREACHABLE.iter().any(|w| text.contains(w)) {
        for phrase in organisations_unreachable() {
            text = text.replace(phrase.as_str(), "，");
        }
    }
    for (context, and_context, words) in NOT_IN_CONTEXT {
        let holds = |cues: &[&str]| cues.iter().any(|w| text.contains(w));
        if holds(context) && (and_context.is_empty() || holds(and_context)) {
            for word in *words {
                text = text.replace(word, "，");
            }
        }
    }
    text
}

/// True when every occurrence of `word` in `norm` follows a negation cue closely, without
/// punctuation between (没受伤, 没有人受伤), and no uncertainty phrase holds the cue.
fn negated(norm: &str, word: &str) -> bool {
    let mut any = false;
    for (at, _) in norm.match_indices(word) {
        any = true;
        let before: Vec<char> = norm[..at].chars().collect();
        let from = before.len().saturating_sub(NEGATION_WINDOW + 2);
        let window: String = before[from..].iter().collect();
        let cut = window
            .rfind(|c: char| super::classify::is_break(c))
            .map_or(0, |i| {
                i + window[i..].chars().next().map_or(1, char::len_utf8)
            });
        let window = &window[cut..];
        let cue = NEGATION_CUES.iter().any(|c| {
            window.rfind(c).is_some_and(|i| {
                window[i + c.len()..].chars().count() <= NEGATION_WINDOW
                    && !UNCERTAIN.iter().any(|u| window.contains(u))
            })
        });
        if !cue {
            return false;
        }
    }
    any
}

/// True when the text names a weapon only as a thing sold, found, lost, kept or handed in, and
/// says nothing of it being used, brandished or threatened with.
pub fn weapon_only_named(norm: &str) -> bool {
    !found(norm, WEAPON_NOT_USED).is_empty()
        && found(&without_weapon_objects(norm), WEAPON_USED).is_empty()
}

/// The text with every weapon object taken out, longest first (so that 砍 inside 砍刀 is not
/// read as a cue of use).
fn without_weapon_objects(norm: &str) -> String {
    let mut objects = WEAPON_OBJECTS.to_vec();
    objects.sort_by_key(|w| std::cmp::Reverse(w.chars().count()));
    let mut text = norm.to_owned();
    for w in objects {
        text = text.replace(w, "，");
    }
    text
}

/// True when the text says a fire is out and nothing of it burning still or going again.
pub fn fire_put_out(norm: &str) -> bool {
    !found(norm, FIRE_OUT).is_empty() && found(norm, FIRE_NOT_OUT).is_empty()
}

/// True when the text tells of a fight or violence between people and names no vehicle or
/// crash: such a call is never a traffic accident.
pub fn fight_without_vehicle(norm: &str) -> bool {
    found(norm, FIGHT).iter().any(|w| !negated(norm, w)) && found(norm, VEHICLE).is_empty()
}

/// Whether a crash hurt someone (`Some(true)`: a hurt word, not negated), said it hurt nobody
/// (`Some(false)`), or says neither (`None`).
pub fn crash_hurt(norm: &str) -> Option<bool> {
    let text = without_false_danger(norm);
    if found(&text, CRASH_HURT).iter().any(|w| !negated(&text, w)) {
        Some(true)
    } else if !found(&text, CRASH_UNHURT).is_empty() {
        Some(false)
    } else {
        None
    }
}

/// The safety signals of a scanned text.
pub fn signals(rules: &CompiledRules, scan: &Scan) -> Signals {
    let text = without_false_danger(&scan.norm);
    let mut danger = scan.danger_words(rules);
    danger.retain(|w| text.contains(w.as_str()));
    // A word said not to have happened (没受伤, 没打架, 不是抢劫) neither forces P1 nor holds a call.
    danger.extend(
        found(&text, DANGER)
            .into_iter()
            .filter(|w| !negated(&text, w)),
    );
    let mut conflict = found(&text, CONFLICT);
    conflict.retain(|w| !negated(&text, w));
    // A weapon only named (for sale, found, lost, handed in) is police business, not P1.
    let mut weapon_named = Vec::new();
    if weapon_only_named(&text) {
        let rest = without_weapon_objects(&text);
        danger.retain(|w| {
            // A weapon, or a word seen only inside a weapon's name (砍 of 砍刀).
            let object = WEAPON_OBJECTS.contains(&w.as_str()) || !rest.contains(w.as_str());
            if object {
                weapon_named.push(w.clone());
            }
            !object
        });
    }
    // A fire put out is reported, not fought: its fire words hold the call but are not P1.
    let mut fire_out = Vec::new();
    if fire_put_out(&text) {
        danger.retain(|w| {
            let fire = FIRE_WORDS.contains(&w.as_str());
            if fire {
                fire_out.push(w.clone());
            }
            !fire
        });
    }
    let police = scan
        .matched_rules
        .iter()
        .filter(|&&i| {
            let r = &rules.rules[i];
            r.weight >= 3 && rules.categories[r.category].kind.stays_with_police()
        })
        .flat_map(|&i| scan.rule_words[i].iter().cloned())
        .filter(|w| text.contains(w.as_str()) && !negated(&text, w))
        .collect::<Vec<_>>();
    Signals {
        danger: super::classify::dedup(danger),
        conflict: super::classify::dedup(conflict),
        police: super::classify::dedup(police),
        weapon_named: super::classify::dedup(weapon_named),
        fire_out: super::classify::dedup(fire_out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::scan::scan;

    fn signals_of(text: &str) -> Signals {
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
}
