//! The safety layer above the model: signs in the text that a call is police business whatever
//! the model thinks. Danger (the rules' danger modifiers: weapons, injury, life at risk, an attack
//! now; and persons missing or taken) forces P1 and the police; interpersonal conflict or harm,
//! or a strong police word of the rules, forbids a diversion.

use super::rules::CompiledRules;
use super::scan::Scan;

/// Weapons, fire, water, a life at risk, persons missing or taken (danger: P1, police); the
/// rules' danger modifiers add theirs (a modifier word inside a longer rule word is not counted
/// there: 刀 in 持刀).
const DANGER: &[&str] = &[
    "拿着刀",
    "菜刀",
    "匕首",
    "持刀",
    "拿刀",
    "砍人",
    "捅人",
    "伤人",
    "持枪",
    "开枪",
    "着火",
    "起火",
    "火灾",
    "烧起来",
    "浓烟",
    "落水",
    "溺水",
    "掉进河",
    "掉河里",
    "掉水里",
    "昏迷",
    "晕倒",
    "不省人事",
    "没呼吸",
    "没气了",
    "抽搐",
    "胸口疼",
    "胸口痛",
    "吐血",
    "中风",
    "走失",
    "走丢",
    "丢了孩子",
    "孩子丢了",
    "孩子不见",
    "老人不见",
    "失踪",
    "拐走",
    "拐卖",
    "抱走",
    "拖走",
    "拖进",
    "绑架",
    "绑走",
    "被带走",
    "强行带走",
    "没回家",
    "联系不上",
    "窗台",
    "阳台外",
    "跳下去",
    "不想活",
    "遗书",
];

/// Interpersonal conflict or harm, hazards (never diverted).
const CONFLICT: &[&str] = &[
    "火花",
    "冒烟",
    "焦糊",
    "煤气味",
    "燃气味",
    "泄漏",
    "失窃",
    "被盗",
    "盗窃",
    "吵架",
    "打架",
    "打人",
    "打起来",
    "吵起来",
    "动手",
    "殴打",
    "推搡",
    "骂人",
    "辱骂",
    "威胁",
    "恐吓",
    "报复",
    "闹事",
    "砸",
    "抢",
    "偷",
    "家暴",
    "打我",
    "打他",
    "打她",
    "踢",
    "掐",
    "跟踪",
    "堵门",
    "堵着",
    "拦住",
    "不让走",
    "关起来",
    "锁起来",
    "欺负",
    "揍",
];

/// What the safety layer saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Signals {
    /// Danger words (weapons, injury, life at risk, attack now, missing or taken).
    pub danger: Vec<String>,
    /// Conflict or harm between people.
    pub conflict: Vec<String>,
    /// Strong words (weight 3) of a police or joint category's rules.
    pub police: Vec<String>,
}

impl Signals {
    /// True when the call must not leave the police.
    pub fn blocks_diversion(&self) -> bool {
        !(self.danger.is_empty() && self.conflict.is_empty() && self.police.is_empty())
    }

    /// Every word that blocks a diversion, for the explanation.
    pub fn blocking_words(&self) -> Vec<String> {
        super::classify::dedup(
            self.danger
                .iter()
                .chain(&self.conflict)
                .chain(&self.police)
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

/// The safety signals of a scanned text.
pub fn signals(rules: &CompiledRules, scan: &Scan) -> Signals {
    let mut danger = scan.danger_words(rules);
    danger.extend(found(&scan.norm, DANGER));
    let police = scan
        .matched_rules
        .iter()
        .filter(|&&i| {
            let r = &rules.rules[i];
            r.weight >= 3 && rules.categories[r.category].kind.stays_with_police()
        })
        .flat_map(|&i| scan.rule_words[i].iter().cloned())
        .collect::<Vec<_>>();
    Signals {
        danger: super::classify::dedup(danger),
        conflict: found(&scan.norm, CONFLICT),
        police: super::classify::dedup(police),
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
    }
}
