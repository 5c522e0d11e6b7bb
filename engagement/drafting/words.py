"""The vocabulary of the codebook draft (engagement.draft): role, stage and channel words in English,
Korean and Japanese, personal-data names, answer scales and missing codes, and the name matching
(`tokens`, `_match`) and language guess they are used with.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np



# English words are matched against name tokens; Korean and Japanese words as substrings (their
# scripts have no case and no camelCase, and these words are specific enough not to collide).
ROLE_WORDS: dict[str, tuple[set[str], tuple[str, ...]]] = {
    "ces": ({"ces", "effort"}, ("노력", "수월", "労力", "手間")),
    "csat": ({"csat", "satisfaction", "satisfied", "sat", "cusa", "satis"}, ("만족", "満足")),
    "nps": ({"nps", "recommend", "recommendation", "ltr"}, ("추천", "推奨", "推薦", "勧め", "すすめ")),
    "loyalty": ({"loyalty", "loy", "loyal", "cusl", "repurchase", "rebuy", "retained", "retention", "churn",
                 "churned", "renew", "renewal", "cancelled", "canceled", "repeat"},
                ("재구매", "재방문", "재이용", "충성", "이탈", "해지", "再購入", "再訪", "継続", "解約", "離反", "ロイヤル")),
    "driver": ({"drv", "driver", "drivers", "attribute", "attr"}, ("동인", "속성", "要因", "属性")),
    "demographic": ({"age", "agegroup", "gender", "sex", "region", "income", "education", "occupation", "country",
                     "city", "state", "province", "marital", "senior", "partner", "dependents", "household",
                     "segment", "tier"},
                    ("연령", "나이", "성별", "지역", "소득", "학력", "직업", "年齢", "年代", "性別", "地域", "都道府県",
                     "収入", "年収", "職業", "学歴")),
    "use": ({"use", "used", "uses", "usage", "using"}, ("이용", "사용", "利用", "使用")),
    "pref": ({"pref", "preferred", "prefer", "preference"}, ("선호", "希望", "好み")),
    "last": ({"last", "latest", "recent"}, ("최근", "마지막", "最後", "直近", "前回")),
    "weight": ({"weight", "wt", "wgt", "weights"}, ("가중치", "ウェイト", "重み")),
    "duration": ({"duration", "seconds", "elapsed"}, ("소요", "所要")),
    "attention": ({"attn", "attention"}, ()),
    "orders": ({"orders", "purchases", "transactions"}, ("주문", "구매횟수", "注文", "購入回数")),
    "revenue": ({"revenue", "spend", "spent", "sales"}, ("매출", "구매금액", "売上", "購入金額")),
    "reverse": ({"r", "rev", "reversed", "neg", "negative"}, ()),
}

#: words that name a role only in question text ("made it easy", "buy from us again"), too common in names
TEXT_WORDS = {"ces": {"easy", "easier", "effortless"}, "loyalty": {"again", "continue"}, "csat": {"satisfied"}}

#: stems of question numbers, not of item blocks
GENERIC_STEMS = {"q", "qid", "v", "var", "item", "x", "s", "col", "column"}

#: a loyalty outcome for which "yes" means the customer left: the loyal value is the other one
LEFT_WORDS = ({"churn", "churned", "cancelled", "canceled", "left"}, ("이탈", "해지", "解約", "離反"))

STAGES: dict[str, tuple[set[str], tuple[str, ...]]] = {
    "discover": ({"discover", "discovery", "research", "browse", "search", "awareness", "information"},
                 ("탐색", "정보", "探索", "情報")),
    "purchase": ({"purchase", "buy", "buying", "order", "checkout"}, ("구매", "購入")),
    "delivery": ({"delivery", "pickup", "fulfilment", "fulfillment"}, ("배송", "수령", "配送", "受取")),
    "support": ({"support", "service", "help", "contact", "complaint"}, ("문의", "상담", "지원", "サポート", "問い合わせ")),
    "returns": ({"returns", "return", "refund", "exchange"}, ("반품", "환불", "返品")),
}

CHANNEL_WORDS: dict[str, tuple[set[str], tuple[str, ...]]] = {
    "store": ({"store", "shop", "instore", "branch", "offline"}, ("매장", "점포", "店舗", "店頭")),
    "web": ({"web", "website", "site", "online", "homepage"}, ("웹", "홈페이지", "ウェブ", "サイト")),
    "app": ({"app", "mobile", "application"}, ("앱", "アプリ")),
    "phone": ({"phone", "call", "telephone", "callcentre", "callcenter"}, ("전화", "電話")),
    "chat": ({"chat", "chatbot", "messenger", "kakao", "line"}, ("채팅", "카카오", "チャット")),
    "email": ({"email", "mail", "newsletter"}, ("이메일", "メール")),
    "social": ({"social", "sns", "facebook", "instagram"}, ("소셜", "ソーシャル")),
    "sms": ({"sms", "text", "texts"}, ("문자", "ショートメッセージ")),
}

ONLINE_CHANNELS = ["web", "app", "chat", "email", "social", "sms"]

PII_TOKENS = {"email", "mail", "name", "firstname", "lastname", "surname", "phone", "mobile", "address", "ip",
              "ipaddress", "postcode", "zip", "zipcode", "comment", "comments", "latitude", "longitude",
              "recipient", "externalreference", "externaldatareference"}

#: personal data that exports store as numbers
NUMERIC_PII = {"phone", "mobile", "ip", "latitude", "longitude", "zip", "zipcode", "postcode"}

PII_CJK = ("이름", "성명", "전화", "주소", "이메일", "우편", "氏名", "名前", "電話", "住所", "メール", "郵便")

#: Qualtrics per-response metadata: never a survey answer
QUALTRICS_META = {"StartDate", "EndDate", "Status", "IPAddress", "Progress", "Duration (in seconds)", "Finished",
                  "RecordedDate", "ResponseId", "RecipientLastName", "RecipientFirstName", "RecipientEmail",
                  "ExternalReference", "ExternalDataReference", "LocationLatitude", "LocationLongitude",
                  "DistributionChannel", "UserLanguage"}

#: answer texts that are scale points: normalised text -> (scale key, code); 5-point versions
_ANSWER_SCALES: dict[str, list[list[str]]] = {
    "agree": [["strongly disagree"], ["disagree", "somewhat disagree"], ["neither agree nor disagree", "neutral",
              "neither"], ["agree", "somewhat agree"], ["strongly agree"]],
    "satisfied": [["very dissatisfied", "extremely dissatisfied"], ["dissatisfied", "somewhat dissatisfied"],
                  ["neither satisfied nor dissatisfied", "neutral"], ["satisfied", "somewhat satisfied"],
                  ["very satisfied", "extremely satisfied"]],
    "easy": [["very difficult", "extremely difficult"], ["difficult", "somewhat difficult"],
             ["neither easy nor difficult", "neutral"], ["easy", "somewhat easy"], ["very easy", "extremely easy"]],
    "likely": [["very unlikely", "extremely unlikely", "not at all likely"], ["unlikely", "somewhat unlikely"],
               ["neither likely nor unlikely", "neutral"], ["likely", "somewhat likely"],
               ["very likely", "extremely likely"]],
    "agree_ko": [["전혀 그렇지 않다", "전혀 아니다"], ["그렇지 않다", "아니다"], ["보통이다", "보통"], ["그렇다"],
                 ["매우 그렇다"]],
    "satisfied_ko": [["매우 불만족"], ["불만족"], ["보통"], ["만족"], ["매우 만족"]],
    "agree_ja": [["全くそう思わない", "まったくそう思わない"], ["そう思わない", "あまりそう思わない"],
                 ["どちらともいえない", "どちらとも言えない"], ["そう思う", "ややそう思う"], ["とてもそう思う", "非常にそう思う"]],
    "satisfied_ja": [["非常に不満", "とても不満"], ["不満", "やや不満"], ["どちらともいえない", "どちらとも言えない", "普通"],
                     ["満足", "やや満足"], ["非常に満足", "とても満足"]],
}

YES = {"yes", "y", "true", "예", "네", "はい"}

NO = {"no", "n", "false", "아니오", "아니요", "いいえ"}

NA_TEXT = {"n/a", "na", "not applicable", "don't know", "dont know", "prefer not to say", "해당 없음", "해당없음",
           "모름", "該当なし", "わからない"}

#: values that exports use for "no answer" when they sit outside a column's real range
SENTINELS = [-999, -99, -98, -97, -9, -8, -1, 99, 98, 999, 9999]

#: recognised rating scale types, tried in this order (the first that holds the observed values wins)
SCALE_TYPES = [(1, 5), (1, 7), (0, 10), (1, 10)]



def tokens(name: str) -> set[str]:
    """Lower-case word tokens of a column name: split on separators, camelCase and digits."""
    s = re.sub(r"([a-z])([A-Z])", r"\1 \2", str(name))
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", s)
    s = re.sub(r"([A-Za-z])(\d)|(\d)([A-Za-z])", lambda m: " ".join(g for g in m.groups() if g), s)
    return {t for t in re.split(r"[^0-9a-z]+", s.lower()) if t}



def _match(words: tuple[set[str], tuple[str, ...]], name: str, toks: set[str] | None = None) -> str | None:
    """The word of `words` found in `name` (English by token, Korean/Japanese as a substring), or None."""
    en, cjk = words
    hit = sorted((toks if toks is not None else tokens(name)) & en)
    if hit:
        return hit[0]
    return next((w for w in cjk if w in str(name)), None)



def _norm_text(v) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", str(v))).strip().lower()



def _language(texts) -> str:
    """en, ko or ja from the scripts in the headers and labels."""
    joined = " ".join(map(str, texts))
    if re.search(r"[\u3040-\u30ff]", joined):
        return "ja"
    if re.search(r"[\uac00-\ud7a3]", joined):
        return "ko"
    if re.search(r"[\u4e00-\u9fff]", joined):
        return "ja"
    return "en"



def _plain(v):
    """A code as YAML should show it: 1 not 1.0, numpy scalars as Python."""
    if isinstance(v, (bool, np.bool_)):
        return int(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return int(v) if float(v).is_integer() else float(v)
    return str(v)



def _num_label(lo, hi) -> str:
    return f"{_plain(lo)}-{_plain(hi)}"
