//! The safety layer above the model: signs in the text that a call is police business whatever
//! the model thinks. Danger (the rules' danger modifiers: weapons, injury, life at risk, an attack
//! now; and persons missing or taken) forces P1 and the police; interpersonal conflict or harm,
//! or a strong police word of the rules, forbids a diversion.

use super::rules::CompiledRules;
use super::scan::Scan;

/// Weapons, injury, violence now, a life at risk (unconscious, trapped, jumping, self-harm),
/// fire, smoke, gas and water, children or elderly people at risk, persons missing or taken
/// (danger: P1, police). The rules' danger modifiers add theirs (a modifier word inside a longer
/// rule word is not counted there: 刀 in 持刀). Phrased by meaning, read on the train split only.
const DANGER: &[&str] = &[
    // weapons
    "拿着刀",
    "拿刀",
    "持刀",
    "带刀",
    "举着刀",
    "动刀",
    "刀子",
    "菜刀",
    "砍刀",
    "水果刀",
    "尖刀",
    "匕首",
    "砍人",
    "捅人",
    "捅了",
    "砍了",
    "伤人",
    "持枪",
    "开枪",
    "枪声",
    "拿枪",
    "有枪",
    "猎枪",
    "炸弹",
    "炸药",
    "雷管",
    "手榴弹",
    "爆炸物",
    "斧头",
    "铁棍",
    "钢管",
    "硫酸",
    "泼汽油",
    "浇汽油",
    "持械",
    "凶器",
    "剪子",
    "剪刀",
    "螺丝刀",
    "改锥",
    "家伙",
    "顶着我",
    "硬东西",
    "划了一道",
    "划伤",
    "烟头烫",
    "烫他",
    "烫我",
    // injury and violence now
    "流血",
    "出血",
    "大出血",
    "满脸是血",
    "全是血",
    "一身血",
    "头破血流",
    "打伤",
    "砍伤",
    "捅伤",
    "重伤",
    "骨折",
    "打死",
    "弄死",
    "杀了",
    "杀人",
    "要杀",
    "掐死",
    "掐脖子",
    "掐着脖子",
    "勒脖子",
    "勒住",
    "按在地上",
    "往死里",
    "拳打脚踢",
    "围殴",
    "群殴",
    "暴打",
    "毒打",
    "强奸",
    "猥亵",
    "性侵",
    "非礼",
    "抢劫",
    "抢了",
    "被抢",
    "抢包",
    "抢钱",
    "抢手机",
    "打倒",
    "围着打",
    "追着打",
    "追着路人",
    "往水里按",
    "按在水",
    "同归于尽",
    "烧死",
    "捂住嘴",
    "捂住",
    "塞进",
    "拉走了",
    "抢方向盘",
    "发疯",
    "乱挥",
    "下药",
    "放了东西",
    "锁在",
    "醉驾",
    "还在往前开",
    "推倒",
    "把门堵",
    "堵在",
    "闯进",
    "撬",
    "拧门",
    "敲我门",
    "拖到",
    "不能说话",
    "压低声音",
    "躲在",
    "他来了",
    "要去死",
    "想死",
    // unconscious, collapse, medical emergency
    "昏迷",
    "晕倒",
    "晕过去",
    "昏过去",
    "不省人事",
    "没意识",
    "没有意识",
    "叫不醒",
    "人没反应",
    "没呼吸",
    "没气了",
    "没心跳",
    "抽搐",
    "口吐白沫",
    "休克",
    "倒地不起",
    "胸口疼",
    "胸口痛",
    "吐血",
    "中风",
    "喘不上气",
    "喘不过气",
    "喘气困难",
    "呼吸困难",
    "说不出话",
    "喉咙肿",
    "抽筋",
    "翻白眼",
    "眼睛往上翻",
    "不动了",
    "躺着不动",
    "趴着不动",
    "人躺在",
    "倒在地上",
    "倒在路边",
    "起不来",
    "摔下来",
    "掉下来",
    "飞出去",
    "被压",
    "压在下面",
    "车底下",
    "被埋",
    "卷进",
    "撞了好几个人",
    "撞倒",
    "撞飞",
    "羊水破",
    "要生了",
    "心口疼",
    "捂着胸口",
    "头好晕",
    "抑郁症",
    "见红",
    "站不起来",
    "走不动",
    "站不住",
    "出冷汗",
    "蛇咬",
    "咬伤",
    "吃错药",
    "迷糊",
    "喘不上",
    "摸不到心跳",
    "心肺复苏",
    "意识不",
    "伤口",
    "刮倒",
    "轮子底下",
    "敲门没人应",
    "敲门也没人应",
    "没人应",
    "喊也不应",
    "叫也不应",
    "打不通",
    "没人接",
    "电话断了",
    "电话就断了",
    "说了一半",
    "迷路",
    "走散",
    "没电了",
    "快没电",
    "割腕",
    "吃了安眠药",
    "喝农药",
    "喝了农药",
    "服毒",
    // trapped, jumping, self-harm
    "被困",
    "困在",
    "出不来",
    "被关在",
    "被关起来",
    "关在里面",
    "锁在里面",
    "锁在车里",
    "跳楼",
    "跳河",
    "跳江",
    "跳桥",
    "要跳",
    "想跳",
    "栏杆外",
    "卡住",
    "被卡",
    "站在楼顶",
    "楼顶边",
    "天台边",
    "站在天台",
    "爬上天台",
    "窗台",
    "阳台外",
    "跳下去",
    "轻生",
    "自杀",
    "不想活",
    "寻死",
    "遗书",
    // fire, smoke, gas, explosion
    "着火",
    "起火",
    "失火",
    "火灾",
    "烧起来",
    "浓烟",
    "冒火",
    "火苗",
    "爆炸",
    "煤气泄漏",
    "燃气泄漏",
    "气泄漏",
    "煤气中毒",
    "一氧化碳",
    "冒烟",
    "冒黑烟",
    "烟很大",
    "烟好大",
    "火很大",
    "火好大",
    "自燃",
    "点着了",
    "着伙",
    "有人点火",
    "放火",
    "纵火",
    "火窜",
    "烧焦",
    "煤气味",
    "煤汽味",
    "燃气味",
    "天然气味",
    "天然气的味",
    "化学品",
    "有毒",
    "全是烟",
    "烟感",
    "疏散",
    "火蹿",
    "炸了",
    "呛得",
    "氨水",
    "刺鼻",
    "臭鸡蛋味",
    // water
    "落水",
    "溺水",
    "掉进河",
    "掉河里",
    "掉水里",
    "掉进水",
    "水里挣扎",
    "被水冲走",
    "冲走了",
    "救命",
    "卷走",
    "扑腾",
    "离水",
    "没有大人",
    "没大人",
    "掉下去",
    "冰面",
    "冰窟",
    "泥石流",
    "塌方",
    "塌了",
    "埋了",
    // persons missing or taken, children and elderly at risk
    "走失",
    "走丢",
    "丢了孩子",
    "孩子丢了",
    "孩子不见",
    "小孩不见",
    "老人不见",
    "人不见了",
    "找不到孩子",
    "找不到人",
    "失踪",
    "失联",
    "联系不上",
    "没回家",
    "没回来",
    "拐走",
    "拐卖",
    "抱走",
    "拖走",
    "拖进",
    "拽进",
    "绑架",
    "绑走",
    "被带走",
    "强行带走",
    "撕票",
    "人质",
    "挟持",
    "不见了",
    "关机",
    "说对不起",
];

/// Phrases that hold a danger word but no danger (a stove that will not light, a shop owner who
/// vanished with the prepaid fees): removed before the danger words are looked for.
const NOT_DANGER: &[&str] = &[
    "打不着火",
    "点不着火",
    "打不着",
    "老板找不到人",
    "老板失联",
    "负责人失联",
    "店主失联",
    "商家失联",
    "老板联系不上",
    "商家联系不上",
    "中介联系不上",
    "房东联系不上",
];

/// Interpersonal conflict or harm, hazards (never diverted). Colloquial hitting verbs included.
const CONFLICT: &[&str] = &[
    "火花",
    "焦糊",
    "泄漏",
    "漏气",
    "失窃",
    "被盗",
    "盗窃",
    "吵架",
    "争吵",
    "打架",
    "斗殴",
    "干架",
    "掐架",
    "打人",
    "打起来",
    "吵起来",
    "动手",
    "动粗",
    "殴打",
    "推搡",
    "推倒",
    "推我",
    "拉扯",
    "撕扯",
    "扭打",
    "厮打",
    "骂人",
    "辱骂",
    "威胁",
    "恐吓",
    "报复",
    "闹事",
    "寻衅",
    "滋事",
    "砸",
    "抢",
    "偷",
    "家暴",
    "打我",
    "打他",
    "打她",
    "打我们",
    "打孩子",
    "打老婆",
    "打老公",
    "被打",
    "挨打",
    "踢",
    "踹",
    "扇",
    "耳光",
    "掐",
    "揍",
    "跟踪",
    "尾随",
    "骚扰",
    "偷拍",
    "堵门",
    "堵着",
    "拦住",
    "不让走",
    "关起来",
    "锁起来",
    "欺负",
    "霸凌",
    "勒索",
    "敲诈",
    "逼债",
    "非法拘禁",
    "碰瓷",
    "诈骗",
    "被骗",
    "冒充",
    "是托",
    "干的",
    "掀摊",
    "收保护费",
    "骗",
    "哭",
    "摔东西",
    "大喊大叫",
    "拉黑",
    "跑路",
    "卷铺盖",
    "卷款",
    "冒领",
    "被人拿",
    "拿错",
    "捡到",
    "捡了",
    "保护令",
    "打过我",
    "派出所",
    "民警",
    "警察",
    "报警",
    "立案",
    "交警",
    "碰撞",
    "剐蹭",
    "追尾",
    "撞了",
    "罂粟",
    "吸毒",
];

/// Cues that cancel a danger or conflict word just after them (没受伤, 没有着火, 没打架).
const NEGATION_CUES: &[&str] = &["没有", "没", "未", "无", "不是", "并未"];
/// Uncertainty phrases that contain a cue but cancel nothing (有没有人受伤).
const UNCERTAIN: &[&str] = &["有没有", "是不是", "有无", "会不会"];
/// Characters between a cue and the word it cancels, at most.
const NEGATION_WINDOW: usize = 3;

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

/// The text with the phrases that hold a danger word but no danger taken out.
fn without_false_danger(norm: &str) -> String {
    let mut text = norm.to_owned();
    for phrase in NOT_DANGER {
        text = text.replace(phrase, "，");
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
