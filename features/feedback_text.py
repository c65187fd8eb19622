"""Short, realistic feedback and ticket texts in Chinese and English for the sample data set.

A text is an opening that carries the sentiment, a body that carries the class (about a product
area or a ticket category) and sometimes a closing. Like real labelled feedback it is noisy:
some bodies come from another class than their label (ambiguous or mislabelled texts) and some
openings disagree with the sentiment label. Labels go to `text_class` and `text_sentiment`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.config import Settings

LANGUAGES = (("zh", 0.6), ("en", 0.4))
SENTIMENTS = ("negative", "neutral", "positive")
# Share of texts whose body comes from another class, and whose opening from another sentiment.
BODY_NOISE = 0.10
OPENING_NOISE = 0.06

AREA_NAMES = {
    "zh": {
        "billing": "账单",
        "mobile_app": "手机App",
        "reporting": "报表",
        "integrations": "系统集成",
        "delivery_tracking": "物流跟踪",
    },
    "en": {
        "billing": "billing",
        "mobile_app": "the mobile app",
        "reporting": "reports",
        "integrations": "integrations",
        "delivery_tracking": "delivery tracking",
    },
}

OPENINGS = {
    "zh": {
        "negative": [
            "太失望了，",
            "体验很差，",
            "真的很生气，",
            "不满意，",
            "又出问题了！",
            "说实话很糟糕，",
        ],
        "neutral": ["", "你好，", "您好，", "", "想反馈一下，", "请问一下，"],
        "positive": [
            "很喜欢这个产品！",
            "整体体验不错，",
            "非常满意，",
            "好评！",
            "用得很顺手，",
            "谢谢你们，",
        ],
    },
    "en": {
        "negative": [
            "Really disappointed. ",
            "This is frustrating. ",
            "Terrible experience. ",
            "Not happy. ",
            "Again broken! ",
            "Honestly awful. ",
        ],
        "neutral": ["", "Hi, ", "Hello. ", "", "Quick note: ", "FYI, "],
        "positive": [
            "Love the product! ",
            "Great experience so far. ",
            "Very satisfied. ",
            "Nice work! ",
            "Works well for us. ",
            "Thanks team, ",
        ],
    },
}

CLOSINGS = {
    "zh": {
        "negative": ["请尽快处理。", "再这样就不用了。", ""],
        "neutral": ["谢谢。", ""],
        "positive": ["继续加油！", "点赞。", ""],
    },
    "en": {
        "negative": [" Please fix this soon.", " Considering other options.", ""],
        "neutral": [" Thanks.", ""],
        "positive": [" Keep it up!", " Cheers.", ""],
    },
}

BODIES = {
    "zh": {
        "product_suggestion": [
            "建议{area}增加批量导出功能。",
            "希望{area}能支持自定义模板。",
            "{area}如果能加上提醒功能就好了。",
            "能不能在{area}里加一个深色模式？建议考虑。",
            "建议优化{area}的界面布局。",
            "希望以后{area}可以和微信打通。",
        ],
        "service_complaint": [
            "{area}的问题反映了三次都没人回复。",
            "客服处理{area}的问题太慢了，等了好几天。",
            "{area}出错，打电话也没人接。",
            "退款一直没到账，{area}这块服务太差。",
            "{area}的工单被关闭了但问题根本没解决。",
            "投诉{area}，售后流程太复杂。",
        ],
        "feature_question": [
            "请问{area}怎么设置自动同步？",
            "{area}在哪里可以查看历史记录？",
            "如何在{area}里添加新的用户？",
            "{area}支持导出Excel吗？",
            "{area}的数据多久更新一次？",
            "怎么修改{area}的通知设置？",
        ],
        "other": [
            "我的账户信息需要变更。",
            "今天的活动什么时候结束？",
            "发票抬头写错了，能重开吗？",
            "随便说说，{area}我还没用过。",
            "你们周末上班吗？",
            "已收到，没有其他问题。",
        ],
    },
    "en": {
        "product_suggestion": [
            "It would be great if {area} had bulk export.",
            "Please add custom templates to {area}.",
            "Suggest adding reminders in {area}.",
            "Could {area} get a dark mode? Worth considering.",
            "The layout of {area} could be simplified.",
            "Would love {area} to connect with Slack.",
        ],
        "service_complaint": [
            "Reported the {area} issue three times and nobody replied.",
            "Support for {area} is far too slow, waited days.",
            "{area} keeps failing and no one picks up the phone.",
            "Still no refund; service around {area} is poor.",
            "My {area} ticket was closed but the problem is not solved.",
            "Complaint about {area}: the after-sales process is too complicated.",
        ],
        "feature_question": [
            "How do I turn on automatic sync in {area}?",
            "Where can I see the history in {area}?",
            "How can I add a new user to {area}?",
            "Does {area} support exporting to Excel?",
            "How often is the data in {area} refreshed?",
            "How do I change notification settings for {area}?",
        ],
        "other": [
            "I need to change my account details.",
            "When does the current promotion end?",
            "The invoice title is wrong, can you reissue it?",
            "Just saying hi, have not tried {area} yet.",
            "Are you open on weekends?",
            "Received, no further questions.",
        ],
    },
}

# Ticket texts by category; a ticket is a complaint or, less often, a question.
TICKET_BODIES = {
    "zh": {
        "product_quality": [
            "产品质量有问题，用了两天就坏了。",
            "收到的商品有划痕。",
            "质量不行，和描述不符。",
        ],
        "logistics_delay": ["快递一个星期了还没到。", "物流信息三天没更新。", "配送太慢了，说好的次日达呢？"],
        "slow_response": ["客服回复太慢了。", "在线等了两个小时没人理。", "留言好几天没有回音。"],
        "complicated_after_sales": ["退货流程太复杂了。", "售后要填的表太多。", "换货要来回跑好几次。"],
    },
    "en": {
        "product_quality": [
            "The product broke after two days.",
            "The item arrived scratched.",
            "Quality is not as described.",
        ],
        "logistics_delay": [
            "My parcel has not arrived after a week.",
            "Tracking has not updated in three days.",
            "Delivery is too slow, it was promised next day.",
        ],
        "slow_response": [
            "Support answers far too slowly.",
            "Waited two hours in chat with no answer.",
            "No reply to my message for days.",
        ],
        "complicated_after_sales": [
            "The return process is too complicated.",
            "Too many forms for after-sales.",
            "Exchanging an item takes several trips.",
        ],
    },
}
TICKET_QUESTIONS = {
    "zh": ["请问{cat}的进度在哪里查？", "想咨询一下{cat}怎么处理？"],
    "en": ["Where can I check the status of my {cat} case?", "How is a {cat} case handled?"],
}
CATEGORY_NAMES = {
    "zh": {
        "product_quality": "质量问题",
        "logistics_delay": "物流",
        "slow_response": "客服",
        "complicated_after_sales": "售后",
    },
    "en": {
        "product_quality": "quality",
        "logistics_delay": "delivery",
        "slow_response": "support",
        "complicated_after_sales": "after-sales",
    },
}


def _pick(options: list[str], u: float) -> str:
    """The option at uniform draw `u` in [0, 1): a vectorised choice among lists of any length."""
    return options[int(u * len(options))]


def _sentiment(rng: np.random.Generator, classes: np.ndarray, nps: np.ndarray, complaint: str) -> np.ndarray:
    """Sentiment from the class and the survey score that came with the text."""
    score = np.where(np.isnan(nps), 7.5, nps)
    p_neg = np.where(score <= 6, 0.55, np.where(score <= 8, 0.12, 0.04))
    p_pos = np.where(score <= 6, 0.05, np.where(score <= 8, 0.25, 0.70))
    p_neg = np.where(classes == complaint, 0.85, p_neg)
    p_pos = np.where(classes == complaint, 0.0, p_pos)
    u = rng.random(len(classes))
    return np.where(u < p_neg, "negative", np.where(u < p_neg + p_pos, "positive", "neutral"))


def _compose(rng: np.random.Generator, langs, bodies: list[str], sentiments) -> list[str]:
    """Opening + body + closing per text; some openings are drawn from another sentiment."""
    n = len(bodies)
    u = rng.random((n, 3))
    swap = rng.random(n) < OPENING_NOISE
    shown = np.where(swap, np.array(SENTIMENTS)[rng.integers(len(SENTIMENTS), size=n)], sentiments)
    return [
        _pick(OPENINGS[lang][opening], a) + body + _pick(CLOSINGS[lang][sent], c)
        for lang, body, opening, sent, (a, _, c) in zip(
            langs.tolist(), bodies, shown.tolist(), list(sentiments), u.tolist(), strict=True
        )
    ]


def _languages(rng: np.random.Generator, n: int) -> np.ndarray:
    names = np.array([x[0] for x in LANGUAGES])
    return names[rng.choice(len(LANGUAGES), size=n, p=[x[1] for x in LANGUAGES])]


def feedback_texts(
    rng: np.random.Generator,
    nps: np.ndarray,
    areas: tuple[str, ...],
    settings: Settings,
) -> pd.DataFrame:
    """Product area, text, text_class and text_sentiment for survey answers with scores `nps`."""
    n = len(nps)
    mix = settings.tickets.feedback_mix
    names = list(mix)
    classes = np.array(names)[rng.choice(len(names), size=n, p=np.array(list(mix.values())))]
    sentiments = _sentiment(rng, classes, np.asarray(nps, float), settings.needs.complaint_class)
    area = np.array(areas)[rng.integers(len(areas), size=n)]
    langs = _languages(rng, n)
    known = np.array(list(BODIES["en"]))
    noisy = rng.random(n) < BODY_NOISE
    body_class = np.where(noisy | ~np.isin(classes, known), known[rng.integers(len(known), size=n)], classes)
    u = rng.random(n)
    bodies = [
        _pick(BODIES[lang][cls], x).format(area=AREA_NAMES[lang].get(a, a))
        for lang, cls, a, x in zip(
            langs.tolist(), body_class.tolist(), area.tolist(), u.tolist(), strict=True
        )
    ]
    return pd.DataFrame(
        {
            "product_area": area,
            "text": _compose(rng, langs, bodies, sentiments),
            "text_class": classes,
            "text_sentiment": sentiments,
        }
    )


def ticket_texts(rng: np.random.Generator, categories: np.ndarray, settings: Settings) -> pd.DataFrame:
    """Text, text_class and text_sentiment for tickets of `categories`: mostly complaints."""
    n = len(categories)
    langs = _languages(rng, n)
    complaint = (rng.random(n) < 0.75) & np.isin(categories, list(TICKET_BODIES["en"]))
    sentiments = np.where(complaint & (rng.random(n) < 0.9), "negative", "neutral")
    u = rng.random(n)
    bodies = [
        _pick(TICKET_BODIES[lang][cat], x)
        if is_complaint
        else _pick(TICKET_QUESTIONS[lang], x).format(
            cat=CATEGORY_NAMES[lang].get(cat, str(cat).replace("_", " "))
        )
        for cat, is_complaint, lang, x in zip(
            list(categories), complaint.tolist(), langs.tolist(), u.tolist(), strict=True
        )
    ]
    classes = np.where(complaint, settings.needs.complaint_class, "feature_question")
    return pd.DataFrame(
        {
            "text": _compose(rng, langs, bodies, sentiments),
            "text_class": classes,
            "text_sentiment": sentiments,
        }
    )
