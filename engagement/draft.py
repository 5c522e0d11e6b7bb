"""`engagement codebook draft`: a starting codebook guessed from a raw export, every guess with its evidence.

The draft reads the file as ingest would, then looks at each column twice: its **name** (split into
tokens, so "ces" matches `ces`, `CES_1` or `q5_ces` but never `adv.acces` or `TermsCondPrices`;
Korean and Japanese words are matched as words of their script) together with any question text the
export carries (Qualtrics' second header row, SPSS variable labels), and its **values** (recognised
scale types 1–5, 1–7, 1–10, 0–10 and 0–5 with 0 = not applicable; yes/no and agree/satisfied answer
texts in English, Korean and Japanese; sentinel missing codes such as −99 or 999; value labels).

Roles it proposes: respondent id (only a column unique on every row), weight, duration, personal
data, CES, CSAT and NPS scales, loyalty outcomes, multi-item blocks (with reversed items found by
their negative correlation with the rest of the block), key-driver ratings, channel use, preferred
channel per journey stage, the last-interaction channel, demographics and other segments, behaviour
and persona features. Ratings are never proposed as segments; segment labels are written as codes
(`1`, never `1.0`). Every guess is written with a YAML comment saying why.

`studies_fed(codebook)` says which studies a codebook feeds and what the others lack; the draft
command prints it, and `codebook check` uses it to warn about a codebook that feeds no study.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from .codebook import Codebook, code_key
from .errors import InputError

# ------------------------------------------------------------------------------ vocabulary
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


# ------------------------------------------------------------------------------ helpers


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


# ------------------------------------------------------------------------------ reading


def detect_encoding(path: Path) -> tuple[str, str]:
    """(encoding, evidence) of a text export: UTF-8 if it decodes, else CP949 or Shift-JIS by which
    gives more Korean or Japanese letters."""
    import gzip

    raw = path.read_bytes()
    if path.suffix.lower() == ".gz":
        try:
            raw = gzip.decompress(raw)
        except OSError:
            return "utf-8", "not gzip-compressed text: assumed UTF-8"
    raw = raw[:2_000_000]
    try:
        raw.decode("utf-8")
        return "utf-8", "decodes as UTF-8"
    except UnicodeDecodeError:
        pass
    scores = {}
    for enc in ("cp949", "shift_jis"):
        try:
            text = raw.decode(enc)
        except UnicodeDecodeError:
            continue
        scores[enc] = _script_score(text, enc)
    if not scores:
        return "utf-8", "decodes as none of UTF-8, CP949 or Shift-JIS: set `encoding` by hand"
    best = max(scores, key=scores.get)
    script = "Korean" if best == "cp949" else "Japanese"
    others = "; ".join(f"{e} scores {v}" for e, v in scores.items() if e != best)
    return best, (f"not UTF-8; decodes as {best} with {scores[best]} more common {script} letters than rare ones"
                  + (f" ({others})" if others else ""))


def _script_score(text: str, enc: str) -> int:
    """How much a decoding looks like real text: each double-byte encoding decodes the other's bytes
    into rare letters (Shift-JIS read as CP949 gives extended Hangul; CP949 read as Shift-JIS gives
    half-width katakana), so common letters count for it and rare ones against it."""
    if enc == "cp949":
        hangul = re.findall(r"[\uac00-\ud7a3]", text)
        common = sum(1 for ch in hangul if _common_hangul(ch))
        return common - (len(hangul) - common)
    full = len(re.findall(r"[\u3040-\u30ff\u4e00-\u9fff]", text))
    half = len(re.findall(r"[\uff61-\uff9f]", text))
    return full - half


def _common_hangul(ch: str) -> bool:
    """One of the 2,350 syllables of KS X 1001 (two bytes in EUC-KR; Python spells the others as 8-byte
    jamo sequences)."""
    try:
        return len(ch.encode("euc_kr")) == 2
    except UnicodeEncodeError:
        return False


def _stub_codebook(encoding: str) -> Codebook:
    return Codebook.model_validate({"encoding": encoding})


def _question_text(path: Path, fmt: str, encoding: str) -> tuple[dict[str, str], dict]:
    """Question text per column (Qualtrics header row 2, SPSS variable labels) and SPSS user-missing."""
    from .ingest import _python_encoding

    if fmt == "qualtrics":
        try:
            row = pd.read_csv(path, encoding=_python_encoding(encoding), nrows=1, dtype=str)
        except Exception:  # the text row is evidence only; reading problems surface in read_raw
            return {}, {}
        row.columns = [str(c).strip() for c in row.columns]
        return {c: str(row[c].iloc[0]) for c in row.columns if pd.notna(row[c].iloc[0])}, {}
    if fmt == "spss":
        import pyreadstat

        try:
            _, meta = pyreadstat.read_sav(str(path), metadataonly=True, user_missing=True)
        except Exception:
            return {}, {}
        texts = {c: str(lab) for c, lab in meta.column_names_to_labels.items() if lab}
        return texts, dict(getattr(meta, "missing_user_values", {}) or {})
    return {}, {}


# ------------------------------------------------------------------------------ column facts


@dataclass
class Facts:
    """What the values of one column say."""

    name: str
    toks: set[str]
    text: str = ""
    #: empty, binary, rating, count, continuous, categorical, text
    kind: str = "text"
    values: pd.Series | None = None  # numeric values after recode and missing codes
    levels: list = field(default_factory=list)  # distinct raw values (categorical, binary)
    scale: tuple[float, float] | None = None
    scale_why: str = ""
    missing: list = field(default_factory=list)  # per-column missing codes (0 = N/A)
    recode: dict = field(default_factory=dict)
    labels: dict = field(default_factory=dict)  # value labels from the file (SPSS)
    unique: bool = False
    complete: bool = False
    n_distinct: int = 0


def _answer_recode(levels: list) -> tuple[dict, str] | None:
    """Map answer texts to codes when every level is a point of one known answer scale."""
    norm = {lv: _norm_text(lv) for lv in levels}
    texts = {t for t in norm.values() if t not in NA_TEXT}
    if not texts:
        return None
    for key, points in _ANSWER_SCALES.items():
        lookup = {t: i + 1 for i, alts in enumerate(points) for t in alts}
        if texts <= set(lookup):
            return {lv: lookup[t] for lv, t in norm.items() if t in lookup}, key.split("_")[0]
    # "0 - Not at all likely", "10 - Extremely likely", "7": a leading number is the code
    lead = {lv: re.match(r"^\s*(\d{1,2})(\s*[-–:.]\s*\S.*)?$", str(lv)) for lv in levels}
    if all(m for lv, m in lead.items() if norm[lv] not in NA_TEXT) and any(m and m.group(2) for m in lead.values()):
        # only the labelled end points need a recode; plain numbers are read as numbers
        return {lv: int(m.group(1)) for lv, m in lead.items() if m}, "numbered"
    return None


def _sentinels(num: pd.Series) -> list:
    """Sentinel codes of a numeric column: a listed value far outside the range of the rest."""
    vals = num.dropna()
    found = []
    for code in SENTINELS:
        hit = vals == code
        if not hit.any() or hit.all():
            continue
        rest = vals[~vals.isin(SENTINELS)]
        if not len(rest):
            continue
        if code < 0 and rest.min() >= 0:
            found.append(code)
        elif code > 0 and rest.max() < code / 2 and rest.min() >= 0:
            found.append(code)
    return found


def _rating_type(vals: pd.Series, labels: dict) -> tuple[tuple[float, float], list, str] | None:
    """(scale range, per-column missing codes, evidence) when the values fit a recognised scale type."""
    v = vals.dropna()
    if not len(v) or not (v % 1 == 0).all():
        return None
    distinct = sorted(v.unique())
    lo, hi = float(distinct[0]), float(distinct[-1])
    if len(distinct) < 3 or hi > 10 or lo < 0:
        return None
    if labels:
        codes = sorted(float(k) for k in labels if _is_number(k) and float(k) >= 0)
        if len(codes) >= 3 and codes[0] <= lo and codes[-1] >= hi:
            return (codes[0], codes[-1]), [], f"value labels run {_num_label(codes[0], codes[-1])}"
    if lo == 0 and hi <= 5 and hi >= 4:
        zero = float((v == 0).mean())
        return (1, 5), [0], (f"values 0-{_plain(hi)}: read as a 1-5 scale with 0 = not applicable "
                             f"({zero:.0%} answered 0); if 0 is a real answer, set min: 0 and drop `missing`")
    for a, b in SCALE_TYPES:
        if (a, b) == (0, 10) and lo >= 1 and hi > 7:
            continue  # no 0 answered: a 1-10 scale (NPS is read as 0-10 by its name)
        if lo >= a and hi <= b:
            if (a, b) == (1, 10) and lo >= 1:
                note = "no 0 observed, so 1-10 rather than 0-10"
            else:
                note = "the smallest recognised scale holding them"
            return (a, b), [], f"values {_num_label(lo, hi)} observed; scale {a}-{b} ({note})"
    return None


def _is_number(x) -> bool:
    try:
        float(x)
        return True
    except (TypeError, ValueError):
        return False


def column_facts(name: str, s: pd.Series, text: str = "", labels: dict | None = None,
                 missing_codes: list | None = None) -> Facts:
    """Classify one column by its values (after the file's missing codes)."""
    f = Facts(name=name, toks=tokens(name), text=text or "", labels=dict(labels or {}))
    nonnull = s.dropna()
    if s.dtype == object:
        nonnull = nonnull[nonnull.astype(str).str.strip() != ""]
    f.unique = bool(s.is_unique)
    f.complete = bool(s.notna().all())
    f.n_distinct = int(nonnull.nunique())
    if not len(nonnull):
        f.kind = "empty"
        return f
    num = pd.to_numeric(s, errors="coerce")
    numeric_share = num.notna().sum() / len(nonnull)
    if s.dtype == bool:
        num, numeric_share = s.astype(float), 1.0
    if numeric_share < 0.95:
        levels = list(pd.unique(nonnull))
        f.levels = levels
        rec = _answer_recode(levels) if len(levels) <= 12 else None
        low = {lv: _norm_text(lv) for lv in levels}
        if rec:
            f.recode = {str(k): v for k, v in rec[0].items()}
            as_number = {k: v for k, v in f.recode.items() if _is_number(k)}
            num = s.map(lambda x: f.recode.get(str(x)) if pd.notna(x) else np.nan).astype(float)
            f.missing = sorted(str(lv) for lv in levels if low[lv] in NA_TEXT)
            f.values = num
            f.recode = dict(sorted(((k, v) for k, v in f.recode.items() if k not in as_number), key=lambda kv: kv[1]))
            scale_name = rec[1]
            r = _rating_type(num, {})
            if r and scale_name != "numbered" and max(f.recode.values()) <= 5:
                r = ((1, 5), [], r[2])
            if r:
                f.kind, f.scale = "rating", r[0]
                f.scale_why = f"answer texts of a{'n' if scale_name[0] in 'aeiou' else ''} {scale_name} scale, recoded {r[0][0]:g}-{r[0][1]:g}"
                return f
        yes_no = {lv for lv in levels if low[lv] in YES | NO}
        if len(levels) == 2 and len(yes_no) == 2:
            f.kind = "binary"
            f.recode = {str(lv): (1 if low[lv] in YES else 0) for lv in levels}
            f.values = s.map(lambda x: f.recode.get(str(x)) if pd.notna(x) else np.nan).astype(float)
            return f
        f.kind = "categorical" if len(levels) <= 12 else "text"
        return f
    codes = [c for c in (missing_codes or []) if c in set(num.dropna().unique())]
    num = num.where(~num.isin(codes))
    f.values = num
    v = num.dropna()
    if not len(v):
        f.kind = "empty"
        return f
    distinct = sorted(v.unique())
    f.n_distinct = len(distinct)
    f.levels = distinct
    if len(distinct) <= 2 and set(distinct) <= {0, 1}:
        f.kind = "binary"
        return f
    r = _rating_type(v, f.labels)
    if r and not (f.labels and not _scale_like_labels(f.labels)):
        f.kind, f.scale, f.missing, f.scale_why = "rating", r[0], r[1], r[2]
        return f
    if len(distinct) <= 12 and (v % 1 == 0).all() and (f.labels or len(distinct) == 2):
        f.kind = "categorical"
        return f
    integer = bool((v % 1 == 0).all())
    f.kind = "count" if integer and v.min() >= 0 else "continuous"
    if len(distinct) <= 12 and integer:
        f.kind = "coded"  # a few integer codes without labels: a category or a short rating, by name
    return f


def _scale_like_labels(labels: dict) -> bool:
    texts = " ".join(_norm_text(t) for t in labels.values())
    known = {t for pts in _ANSWER_SCALES.values() for alts in pts for t in alts}
    return any(t in texts for t in known) or bool(re.search(r"\d", texts))


# ------------------------------------------------------------------------------ the draft


@dataclass
class Draft:
    """A drafted codebook (plain dict, ready for YAML) and the evidence of each guess by key path."""

    codebook: dict
    why: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def text(self) -> str:
        return render_yaml(self.codebook, self.why, self.notes)


def draft_codebook(path: str | Path, encoding: str | None = None) -> dict:
    """A starting codebook for the export at `path` (plain dict); see `draft_file` for the evidence."""
    return draft_file(path, encoding).codebook


def draft_file(path: str | Path, encoding: str | None = None) -> Draft:
    """Read an export and draft its codebook. Raises InputError when the file cannot be read."""
    from .ingest import read_raw

    path = Path(path)
    if not path.exists():
        raise InputError(path, "an existing survey data file")
    enc_why = "given on the command line"
    if encoding is None:
        if path.suffix.lower() in (".sav", ".zsav", ".xlsx", ".xlsm", ".parquet", ".pq"):
            encoding, enc_why = "utf-8", "binary format: the file carries its own encoding"
        else:
            encoding, enc_why = detect_encoding(path)
    df, fmt, labels = read_raw(path, _stub_codebook(encoding))
    texts, user_missing = _question_text(path, fmt, encoding)
    d = draft_frame(df, name=path.stem, value_labels=labels, question_text=texts, fmt=fmt)
    d.codebook["encoding"] = encoding
    d.why[("encoding",)] = enc_why
    d.codebook["format"] = fmt
    d.why[("format",)] = {"qualtrics": "three header rows with an ImportId row: a Qualtrics export",
                          "spss": "SPSS .sav", "csv": "delimited text"}.get(fmt, fmt)
    if user_missing:
        d.notes.append("SPSS user-missing values (read as empty): " + ", ".join(
            f"{c} {sorted(map(_plain, v))}" for c, v in list(user_missing.items())[:6]))
    try:  # which studies the unedited draft feeds, at the top of the file
        d.notes[:0] = [f"this draft {line}" for line in studies_summary(validate_draft(d.codebook)[0])]
    except Exception:  # a draft that does not validate is still worth writing; `codebook check` says why
        pass
    order = ["survey", "encoding", "format"]
    d.codebook = {**{k: d.codebook[k] for k in order if k in d.codebook},
                  **{k: v for k, v in d.codebook.items() if k not in order}}
    return d


def draft_frame(df: pd.DataFrame, name: str = "survey", value_labels: dict | None = None,
                question_text: dict | None = None, fmt: str = "csv") -> Draft:
    """Draft a codebook from a data frame already read (the heart of `draft_file`)."""
    value_labels = value_labels or {}
    question_text = question_text or {}
    cols = [str(c) for c in df.columns]
    df = df.copy()
    df.columns = cols
    cb: dict = {"survey": {"name": name, "wave": ""}}
    why: dict = {}
    notes: list[str] = []
    lang = _language([*cols, *question_text.values(),
                      *[t for labs in value_labels.values() for t in labs.values()],
                      *[v for c in cols if df[c].dtype == object for v in df[c].dropna().astype(str).unique()[:20]]])
    if lang != "en":
        cb["survey"]["language"] = lang
        why[("survey", "language")] = f"{'Korean' if lang == 'ko' else 'Japanese'} script in the headers or answers"

    # --- file-wide missing codes (sentinels far outside every column's range)
    sentinel_cols: dict = {}
    for c in cols:
        num = pd.to_numeric(df[c], errors="coerce")
        if num.notna().sum() >= 0.95 * df[c].notna().sum() and num.notna().any():
            for code in _sentinels(num):
                sentinel_cols.setdefault(code, []).append(c)
    # a positive sentinel (99, 999) is file-wide only if no column holds it as a real value
    missing_codes = []
    for code, where in sorted(sentinel_cols.items()):
        real = [c for c in cols if c not in where
                and (pd.to_numeric(df[c], errors="coerce") == code).any()]
        if code < 0 or not real:
            missing_codes.append(code)
    if missing_codes:
        cb["missing_codes"] = [_plain(c) for c in missing_codes]
        shown = {code: sentinel_cols[code] for code in missing_codes}
        why[("missing_codes",)] = "; ".join(
            f"{_plain(code)} sits far outside the other values of {len(w)} column(s) ({', '.join(w[:3])}"
            f"{', …' if len(w) > 3 else ''})" for code, w in shown.items())

    facts = {c: column_facts(c, df[c], question_text.get(c, ""), value_labels.get(c), missing_codes) for c in cols}
    used: set[str] = set()

    def take(*names):
        used.update(n for n in names if n)

    # --- id: unique and complete on every row
    id_col, id_why = None, ""
    named = [c for c in cols if facts[c].unique and facts[c].complete
             and (facts[c].toks & {"id", "respondent", "responseid", "uuid", "key"} or c.lower().endswith("id")
                  or any(w in c for w in ("번호", "아이디", "ID", "番号")))]
    if named:
        id_col = named[0]
        id_why = f"unique on every row ({len(df):,} values) and named like an id"
    else:
        first = cols[0]
        ff = facts[first]
        if ff.unique and ff.complete and ff.kind in ("text", "count") and len(df) > 1 \
                and not (ff.kind == "count" and ff.values.max() <= 10):
            id_col, id_why = first, f"first column, unique on every row ({len(df):,} values)"
    if id_col:
        cb["id"] = id_col
        why[("id",)] = id_why
        take(id_col)
    else:
        notes.append("no column is unique on every row with an id-like name: no `id`, so ingest numbers the rows")
    for c in cols:  # near-ids named like ids are worth a warning: the old draft picked them
        if c != id_col and facts[c].toks & {"id"} and not facts[c].unique:
            notes.append(f"{c} looks like an id but repeats ({facts[c].n_distinct:,} distinct values in "
                         f"{len(df):,} rows): not used as the id")

    # --- weight, duration, personal data, Qualtrics metadata
    for role, key in (("weight", "weight"), ("duration", "duration")):
        for c in cols:
            if c in used or facts[c].kind not in ("count", "continuous", "coded"):
                continue
            w = _match(ROLE_WORDS[role], c, facts[c].toks)
            if w and (facts[c].values.dropna() >= 0).all():
                cb[key] = c
                why[(key,)] = f"name has {w!r}; non-negative numbers"
                take(c)
                break
    pii = []
    for c in cols:
        if c in used:
            continue
        f = facts[c]
        hit = sorted(f.toks & PII_TOKENS) or [w for w in PII_CJK if w in c]
        looks_email = f.kind == "text" and df[c].dropna().astype(str).head(200).str.contains(
            r"[^@\s]+@[^@\s]+\.[a-z]{2,}", case=False, regex=True).mean() > 0.2
        numeric_pii = f.kind in ("continuous", "count", "coded") and set(hit) & NUMERIC_PII and f.n_distinct > 20
        if (hit and f.kind in ("text", "categorical", "empty")) or numeric_pii or looks_email:
            pii.append(c)
            why[("pii", len(pii) - 1)] = (f"name has {hit[0]!r}" if hit else "values look like e-mail addresses") + \
                "; personal data is dropped before any notebook"
    if pii:
        cb["pii"] = pii
        take(*pii)
    meta = [c for c in cols if c in QUALTRICS_META and c not in used]
    take(*meta)
    if meta:
        notes.append(f"Qualtrics metadata left out of every role: {', '.join(meta)}")
    for c in cols:
        if c not in used and _match(ROLE_WORDS["attention"], c, facts[c].toks):
            notes.append(f"{c} looks like an attention check: add `attention_checks: [{{column: {c}, correct: …}}]`")
            take(c)

    # --- multi-item blocks: a common stem + item number, all ratings on one scale
    blocks: dict[str, list[str]] = {}
    for c in cols:
        m = re.match(r"^(.+?)[\s_.-](\d{1,2})(r|rev|_r|_rev)?$", c, flags=re.I) \
            or re.match(r"^(.*[^\d_.\s-])(\d{1,2})(r|rev|_r|_rev)?$", c, flags=re.I)
        # Q1, Q2, V3: a question number, not an item number (Q5_1, Q5_2 are items of Q5)
        if m and facts[c].kind == "rating" and c not in used and m.group(1).lower() not in GENERIC_STEMS:
            blocks.setdefault(m.group(1), []).append(c)
    blocks = {k: v for k, v in blocks.items() if len(v) >= 2 and len({facts[c].scale for c in v}) == 1}

    # --- CES, CSAT, NPS: single columns or blocks, by name first, then by question text
    scales: dict = {}
    outcomes: list = []
    item_blocks: list = []
    drivers: list = []

    def role_hit(role: str, c: str, use_text: bool) -> str | None:
        f = facts[c]
        w = _match(ROLE_WORDS[role], c, f.toks)
        if w:
            return f"name has {w!r}"
        if use_text and f.text:
            en, cjk = ROLE_WORDS[role]
            w = _match((en | TEXT_WORDS.get(role, set()), cjk), f.text, tokens(f.text))
            if w:
                return f"question text has {w!r} ({_clip(f.text)})"
        return None

    block_of = {c: stem for stem, items in blocks.items() for c in items}
    taken_blocks: set[str] = set()

    def claim_scale(role: str, use_text: bool) -> None:
        if role in scales:
            return
        for stem, items in blocks.items():
            if stem in taken_blocks:
                continue
            hit = _match(ROLE_WORDS[role], stem) and f"item stem {stem!r} has {_match(ROLE_WORDS[role], stem)!r}"
            if not hit and use_text:
                hit = role_hit(role, items[0], True)
            if hit:
                lo, hi = facts[items[0]].scale
                scales[role] = _scale_entry(role, facts, items, lo, hi)
                why[("scales", role)] = f"{hit}; {len(items)} items on one scale: {facts[items[0]].scale_why}"
                taken_blocks.add(stem)
                take(*items)
                return
        for c in cols:
            if c in used or facts[c].kind != "rating" or c in block_of:
                continue
            hit = role_hit(role, c, use_text)
            if hit:
                lo, hi = facts[c].scale
                why_scale = facts[c].scale_why
                if role == "nps":
                    if hi != 10 or lo > 1:
                        continue
                    if lo == 1:  # an NPS question is 0-10 even when nobody answered 0
                        lo, facts[c].scale = 0, (0, 10)
                        why_scale = facts[c].scale_why = "values 1-10 observed; scale 0-10, as NPS is asked"
                scales[role] = _scale_entry(role, facts, [c], lo, hi)
                why[("scales", role)] = f"{hit}; {why_scale}"
                take(c)
                return

    for use_text in (False, True):
        for role in ("nps", "ces", "csat"):
            claim_scale(role, use_text)
    if "ces" in scales:  # direction: the original CES (1-5 "how much effort") is higher-is-worse
        ces_cols = _cols(scales["ces"])
        direction, reason = _ces_direction(df, facts, ces_cols, _cols(scales["csat"]) if "csat" in scales else [])
        scales["ces"]["higher_is_better"] = direction
        why[("scales", "ces", "higher_is_better")] = reason
    if "nps" in scales:
        c = _cols(scales["nps"])[0]
        outcomes.append(_outcome_entry("nps", c, "nps", facts[c]))
        why[("outcomes", 0)] = "likelihood to recommend (0-10) is a loyalty outcome (kind nps)"

    # --- other loyalty outcomes: blocks (first item), then single columns
    for stem, items in blocks.items():
        if stem in taken_blocks:
            continue
        w = _match(ROLE_WORDS["loyalty"], stem)
        if w:
            c = items[0]
            outcomes.append(_outcome_entry(c, c, "likert", facts[c]))
            why[("outcomes", len(outcomes) - 1)] = (f"item stem {stem!r} has {w!r}; an outcome is one column, so the "
                                                    f"first item of {', '.join(items)} (edit to choose another)")
            item_blocks.append(_block_entry(stem, items, facts, df))
            taken_blocks.add(stem)
            take(*items)
    for use_text in (False, True):
        for c in cols:
            f = facts[c]
            if c in used or f.kind not in ("rating", "binary", "count", "coded") or c in block_of:
                continue
            hit = role_hit("loyalty", c, use_text)
            if not hit or f.toks & {"member", "membership", "program", "programme", "card", "points"}:
                continue  # a loyalty programme is a behaviour, not loyalty
            if f.kind == "rating":
                entry = _outcome_entry(c, c, "likert", f)
                reason = f"{hit}; {f.scale_why}"
            elif f.kind == "binary":
                entry = _outcome_entry(c, c, "binary", f)
                left = _match(LEFT_WORDS, c, f.toks) or _match(LEFT_WORDS, f.text, tokens(f.text))
                pos_raw = _binary_value(f, loyal=not left)
                if pos_raw is not None:
                    entry["positive"] = pos_raw
                reason = (f"{hit}; two values" + (f"; {left!r} means the customer left, so the loyal value is "
                                                   f"{pos_raw!r}" if left else ""))
            elif f.kind == "count":
                entry = _outcome_entry(c, c, "count", f)
                reason = f"{hit}; non-negative whole numbers"
            else:
                continue
            outcomes.append(entry)
            why[("outcomes", len(outcomes) - 1)] = reason
            take(c)

    # --- key-driver ratings: named as drivers, one scale
    for c in cols:
        f = facts[c]
        if c in used or f.kind != "rating":
            continue
        hit = role_hit("driver", c, False) or (block_of.get(c) and _match(ROLE_WORDS["driver"], block_of[c])
                                                and f"item stem {block_of[c]!r}")
        if hit:
            drivers.append(c)
            take(c)
    if drivers:
        why[("drivers",)] = (f"{len(drivers)} ratings named as drivers (e.g. {drivers[0]!r}); the key-driver map "
                             f"ranks them against the first loyalty outcome")
        for stem in {block_of[c] for c in drivers if c in block_of}:
            taken_blocks.add(stem)

    # --- remaining blocks are item blocks (reliability)
    for stem, items in blocks.items():
        if stem in taken_blocks or any(c in used for c in items):
            continue
        item_blocks.append(_block_entry(stem, items, facts, df))
        taken_blocks.add(stem)
        take(*items)
    for i, b in enumerate(item_blocks):
        why[("item_blocks", i)] = b.pop("_why")
    for role, sc in scales.items():
        if sc.get("items"):
            rev = _reversed_items(df, facts, sc["items"])
            if rev:
                sc["reverse"] = [c for c, _ in rev]
                why[("scales", role, "reverse")] = "; ".join(f"{c} correlates {r:+.2f} with the rest" for c, r in rev)
                item_blocks.append({"name": role, "items": list(sc["items"]), "min": sc["min"], "max": sc["max"],
                                    "reverse": [c for c, _ in rev]})
                why[("item_blocks", len(item_blocks) - 1)] = f"the {role.upper()} items, checked for reliability"

    # --- channels: use (0/1 named by channel), preferred channel per stage, last interaction
    usage: dict = {}
    usage_why = []
    for c in cols:
        f = facts[c]
        if c in used or f.kind != "binary":
            continue
        text_tail = f.text.rsplit(" - ", 1)[-1] if f.text else ""
        ch = _channel(c, f.toks) or (text_tail and _channel(text_tail, tokens(text_tail)))
        if not ch or ch in usage:
            continue
        u = _match(ROLE_WORDS["use"], c, f.toks) or (f.text and _match(ROLE_WORDS["use"], f.text, tokens(f.text)))
        if u:
            usage[ch] = c
            usage_why.append(f"{c}: 0/1 and names {ch!r}")
    channels: dict = {}
    if len(usage) >= 2:
        for c in usage.values():
            take(c)
        channels["usage"] = usage
        why[("channels", "usage")] = "; ".join(usage_why[:4]) + ("; …" if len(usage_why) > 4 else "")
        channels["online"] = [ch for ch in usage if ch in ONLINE_CHANNELS]
        why[("channels", "online")] = "web, app, chat, e-mail, social and SMS count as online"
    stages: dict = {}
    for c in cols:
        f = facts[c]
        if c in used or f.kind not in ("coded", "categorical", "rating"):
            continue
        p = _match(ROLE_WORDS["pref"], c, f.toks)
        st = next((s for s, words in STAGES.items() if _match(words, c, f.toks)), None)
        if p and st and st not in stages:
            stages[st] = c
    last = next((c for c in cols if c not in used and facts[c].kind in ("coded", "categorical", "rating")
                 and _match(ROLE_WORDS["last"], c, facts[c].toks)
                 and ({"channel", "contact", "interaction"} & facts[c].toks or "채널" in c or "チャネル" in c)), None)
    if stages or last:
        stage_cols = [*stages.values(), *([last] if last else [])]
        codes, codes_why = _channel_codes(df, facts, stage_cols, value_labels, list(usage))
        if codes:
            if stages:
                channels["stages"] = stages
                why[("channels", "stages")] = (f"named as a preference ('pref') and a journey stage: "
                                               f"{', '.join(f'{s}={c}' for s, c in stages.items())}")
            channels["codes"] = codes
            why[("channels", "codes")] = codes_why
            if last:
                channels["last_interaction"] = last
                why[("channels", "last_interaction")] = "name has 'last' and 'channel': the channel rated by CES/CSAT"
            take(*stage_cols)
            if usage and set(codes.values()) - set(usage):
                channels["online"] = sorted({*channels.get("online", []),
                                             *[c for c in codes.values() if c in ONLINE_CHANNELS]})
            elif not usage:
                channels["online"] = [c for c in dict.fromkeys(codes.values()) if c in ONLINE_CHANNELS]
        else:
            notes.append(f"{', '.join(stage_cols)} look like preferred channels, but their codes could not be "
                         f"matched to channels: add `channels.stages` and `channels.codes` by hand")

    # --- segments: demographics first, then other categories; never ratings
    segments: list = []
    for demographic_pass in (True, False):
        for c in cols:
            f = facts[c]
            if c in used or f.kind not in ("categorical", "coded", "binary", "rating") or len(segments) >= 8:
                continue
            d = _match(ROLE_WORDS["demographic"], c, f.toks) or (f.text and _match(ROLE_WORDS["demographic"], f.text,
                                                                                     tokens(f.text)))
            if demographic_pass != bool(d):
                continue
            if not d and f.kind != "categorical":
                continue  # a rating or an unlabelled code is never a segment on its own
            if not d and {_norm_text(x) for x in f.levels} & (YES | NO):
                continue  # yes/no/"no internet service" answers describe a product, not a customer group
            levels = df[c].dropna()
            if levels.dtype == object:
                levels = levels[levels.astype(str).str.strip() != ""]
            levels = list(pd.unique(levels))
            if not 2 <= len(levels) <= 12:
                continue
            labs = value_labels.get(c, {})
            seg_labels = {}
            for lv in sorted(levels, key=lambda x: (not _is_number(x), float(x) if _is_number(x) else 0, str(x))):
                key = _plain(float(lv)) if _is_number(lv) and not isinstance(lv, str) else str(lv)
                text = labs.get(lv, labs.get(float(lv), None) if _is_number(lv) and not isinstance(lv, str) else None)
                seg_labels[key] = str(text) if text is not None else code_key(lv)
            segments.append({"column": c, "label": _label_text(c, f), "labels": seg_labels})
            why[("segments", len(segments) - 1)] = (
                (f"a demographic: name has {d!r}" if d else "text categories") +
                f"; {len(levels)} levels" + ("; labels from the file" if labs else ""))
            take(c)

    # --- behaviour (CRM): orders and revenue
    behaviour = {}
    for key in ("orders", "revenue"):
        for c in cols:
            if c in used or facts[c].kind not in ("count", "continuous", "coded"):
                continue
            w = _match(ROLE_WORDS[key], c, facts[c].toks)
            if w:
                behaviour[key] = c
                why[("behaviour", key)] = f"name has {w!r}; non-negative numbers"
                break

    # --- persona features: channel use, remaining ratings (attitudes), behaviour
    pf_binary = list(usage.values()) if len(usage) >= 2 else []
    pf_binary += [c for c in cols if c not in used and facts[c].kind == "binary" and facts[c].recode == {}
                  and c not in pf_binary][: max(0, 10 - len(pf_binary))]
    pf_ordinal = [c for c in cols if c not in used and facts[c].kind == "rating" and not facts[c].recode][:8]
    pf_cont = [c for c in cols if c not in used and facts[c].kind in ("count", "continuous")
               and c not in (cb.get("weight"), cb.get("duration"))][:6]
    if len(pf_binary) + len(pf_ordinal) + len(pf_cont) < 2:  # a survey of item blocks: one item per block
        firsts = [b["items"][0] for b in item_blocks] + [_cols(s)[0] for s in scales.values()]
        pf_ordinal = [c for c in dict.fromkeys(firsts) if facts[c].kind == "rating" and not facts[c].recode
                      and not facts[c].missing][:8]
    persona = {k: v for k, v in (("binary", pf_binary), ("ordinal", pf_ordinal), ("continuous", pf_cont)) if v}
    columns: dict = {}
    if sum(map(len, persona.values())) >= 2:
        why[("persona_features",)] = ("what customers do and think that no other role uses: "
                                      + ", ".join(f"{len(v)} {k}" for k, v in persona.items()))
        for c in pf_ordinal:
            lo, hi = facts[c].scale
            columns[c] = {"type": "int", "min": _plain(lo), "max": _plain(hi)}
            if facts[c].missing:
                columns[c]["missing"] = [_plain(m) if _is_number(m) else m for m in facts[c].missing]
            if facts[c].text:
                columns[c]["label"] = _label_text(c, facts[c])
            why[("columns", c)] = facts[c].scale_why
        for c in pf_cont:
            v = facts[c].values
            if df[c].dtype == object or (v.dropna() >= 0).all():
                columns[c] = {"type": "int" if facts[c].kind == "count" else "float"}
                if (v.dropna() >= 0).all():
                    columns[c]["min"] = 0
                why[("columns", c)] = "numbers" + (" (blank cells read as missing)" if df[c].dtype == object else "")
    else:
        persona = {}
    for c in drivers:
        f = facts[c]
        columns[c] = {"type": "int", "min": _plain(f.scale[0]), "max": _plain(f.scale[1]),
                      "label": _label_text(c, f)}
        if f.missing:
            columns[c]["missing"] = [_plain(m) for m in f.missing]
        if f.recode:
            columns[c]["recode"] = dict(f.recode)
        why[("columns", c)] = f.scale_why
    for c in usage.values() if len(usage) >= 2 else []:
        if facts[c].recode:
            columns[c] = {"type": "int", "recode": dict(facts[c].recode)}
            why[("columns", c)] = "yes/no answers recoded to 1/0 for channel use"

    # --- screening: a CRM extract (id, no duration) is not a set of survey submissions
    screening = {}
    if fmt == "qualtrics":
        answer_cols = [c for c in cols if c in used and c not in pii and c != id_col and c != cb.get("duration")
                       and c not in QUALTRICS_META]
        if answer_cols:
            screening["duplicate_columns"] = answer_cols
            why[("screening", "duplicate_columns")] = ("duplicates are looked for on the answers only, never on "
                                                       "Qualtrics metadata (which makes every row unique)")
    elif id_col and "duration" not in cb and sum(f.kind == "rating" for f in facts.values()) <= 1:
        screening["check_duplicates"] = False
        why[("screening", "check_duplicates")] = ("an id on every row and no interview duration: looks like an "
                                                  "administrative extract, where identical profiles are different "
                                                  "customers")

    for key, value in (("scales", scales), ("item_blocks", item_blocks), ("outcomes", outcomes),
                       ("drivers", drivers), ("channels", channels), ("segments", segments),
                       ("persona_features", persona), ("behaviour", behaviour), ("columns", columns),
                       ("screening", screening)):
        if value:
            cb[key] = value
    left = [c for c in cols if c not in used and c not in persona.get("ordinal", []) + persona.get("binary", [])
            + persona.get("continuous", []) and c not in behaviour.values()]
    if left:
        notes.append(f"given no role ({len(left)}): {', '.join(left[:15])}{', …' if len(left) > 15 else ''}")
    return Draft(codebook=cb, why=why, notes=notes)


# ------------------------------------------------------------------------------ entry builders


def _clip(text: str, n: int = 60) -> str:
    t = re.sub(r"\s+", " ", str(text)).strip()
    return f'"{t[:n]}…"' if len(t) > n else f'"{t}"'


def _label_text(c: str, f: Facts) -> str:
    t = re.sub(r"\s+", " ", f.text).strip() if f.text else ""
    return (t[:117] + "…") if len(t) > 118 else (t or c)


def _cols(entry: dict) -> list[str]:
    return [entry["column"]] if entry.get("column") else list(entry.get("items") or [])


def _scale_entry(role: str, facts: dict, items: list[str], lo, hi) -> dict:
    f = facts[items[0]]
    entry: dict = {"column": items[0]} if len(items) == 1 else {"items": list(items)}
    entry.update({"min": _plain(lo), "max": _plain(hi), "higher_is_better": True})
    label = _label_text(items[0], f) if len(items) == 1 else f"{role.upper()} ({items[0]}-{items[-1]})"
    entry["label"] = f"{label} ({_plain(lo)}-{_plain(hi)})"
    miss = sorted({m for c in items for m in facts[c].missing}, key=str)
    if miss:
        entry["missing"] = [_plain(m) if _is_number(m) else m for m in miss]
    rec = {k: v for c in items for k, v in facts[c].recode.items()}
    if rec:
        entry["recode"] = rec
    return entry


def _outcome_entry(name: str, column: str, kind: str, f: Facts) -> dict:
    entry: dict = {"name": re.sub(r"\W+", "_", str(name)).strip("_") or "outcome", "column": column, "kind": kind}
    if kind in ("likert", "nps") and f.scale:
        entry["min"], entry["max"] = _plain(f.scale[0]), _plain(f.scale[1])
    entry["label"] = _label_text(column, f)
    if f.missing and kind in ("likert", "nps"):
        entry["missing"] = [_plain(m) if _is_number(m) else m for m in f.missing]
    if f.recode and kind in ("likert", "nps"):
        entry["recode"] = dict(f.recode)
    return entry


def _binary_value(f: Facts, loyal: bool):
    """The raw value of a binary column meaning yes (loyal=True) or no."""
    target = 1 if loyal else 0
    if f.recode:
        return next((k for k, v in f.recode.items() if v == target), None)
    return target


def _block_entry(stem: str, items: list[str], facts: dict, df: pd.DataFrame) -> dict:
    lo, hi = facts[items[0]].scale
    entry = {"name": re.sub(r"\W+", "_", stem).strip("_") or "block", "items": list(items), "min": _plain(lo),
             "max": _plain(hi)}
    reasons = [f"{len(items)} items with stem {stem!r} on one scale: {facts[items[0]].scale_why}"]
    rev = _reversed_items(df, facts, items)
    if rev:
        entry["reverse"] = [c for c, _ in rev]
        reasons.append("reversed: " + ", ".join(f"{c} (r = {r:+.2f} with the rest)" for c, r in rev))
    miss = sorted({m for c in items for m in facts[c].missing}, key=str)
    if miss:
        entry["missing"] = [_plain(m) if _is_number(m) else m for m in miss]
    rec = {k: v for c in items for k, v in facts[c].recode.items()}
    if rec:
        entry["recode"] = rec
    entry["_why"] = "; ".join(reasons)
    return entry


def _reversed_items(df: pd.DataFrame, facts: dict, items: list[str]) -> list[tuple[str, float]]:
    """Negatively worded items of a block: those loading against the majority on the first principal
    component of the item correlations. Returns (item, correlation with the mean of the other items,
    those others turned the majority's way)."""
    if len(items) < 3:
        return []
    X = pd.DataFrame({c: facts[c].values for c in items}).astype(float)
    R = X.corr(min_periods=10).fillna(0).to_numpy()
    if not np.isfinite(R).all():
        return []
    vals, vecs = np.linalg.eigh(R)
    v = vecs[:, -1]
    if (v > 0).sum() < (v < 0).sum() or ((v > 0).sum() == (v < 0).sum() and v.sum() < 0):
        v = -v
    sign = np.where(v < 0, -1.0, 1.0)
    out = []
    for i, c in enumerate(items):
        if sign[i] > 0:
            continue
        rest = (X.drop(columns=c) * np.delete(sign, i)).mean(axis=1)
        ok = X[c].notna() & rest.notna()
        if ok.sum() < 10 or X[c][ok].std() == 0 or rest[ok].std() == 0:
            continue
        r = float(np.corrcoef(X[c][ok], rest[ok])[0, 1])
        if r < -0.1:
            out.append((c, r))
    return out


def _ces_direction(df: pd.DataFrame, facts: dict, ces_cols: list[str], csat_cols: list[str]) -> tuple[bool, str]:
    ces = pd.DataFrame({c: facts[c].values for c in ces_cols}).mean(axis=1)
    text = " ".join(f"{c} {facts[c].text}" for c in ces_cols).lower()
    if csat_cols:
        sat = pd.DataFrame({c: facts[c].values for c in csat_cols}).mean(axis=1)
        ok = ces.notna() & sat.notna()
        if ok.sum() >= 10 and ces[ok].std() > 0 and sat[ok].std() > 0:
            r = float(np.corrcoef(ces[ok], sat[ok])[0, 1])
            if r < -0.05:
                return False, f"correlates {r:+.2f} with CSAT: higher means more effort (original CES), reversed"
            if r > 0.05:
                return True, f"correlates {r:+.2f} with CSAT: higher means easier (CES 2.0)"
    if "how much effort" in text or "노력" in text or "労力" in text:
        return False, "question asks how much effort: higher is worse (original CES); CHECK"
    return True, "assumed higher = easier (CES 2.0 agreement); CHECK the direction"


def _channel(name: str, toks: set[str]) -> str | None:
    return next((ch for ch, words in CHANNEL_WORDS.items() if _match(words, name, toks)), None)


def _channel_codes(df, facts, stage_cols, value_labels, usage_order) -> tuple[dict, str]:
    """code -> channel name for the preference columns, from value labels, answer texts, or (failing
    those) the order of the channel-use columns."""
    labels = {}
    for c in stage_cols:
        labels.update(value_labels.get(c, {}))
    if labels:
        codes = {}
        for k, text in labels.items():
            ch = _channel(str(text), tokens(str(text))) or re.sub(r"\W+", "_", str(text)).strip("_").lower()
            codes[_plain(k)] = ch
        return codes, "from the value labels in the file"
    values = pd.unique(pd.concat([df[c].dropna() for c in stage_cols]))
    if all(isinstance(v, str) for v in values):
        codes = {}
        for v in values:
            ch = _channel(v, tokens(v))
            if ch is None:
                return {}, ""
            codes[v] = ch
        return dict(sorted(codes.items())), "answer texts name the channels"
    nums = sorted({_plain(v) for v in values if _is_number(v)})
    if usage_order and len(nums) <= len(usage_order) and all(isinstance(v, int) and 1 <= v <= len(usage_order)
                                                              for v in nums):
        return ({i + 1: ch for i, ch in enumerate(usage_order)},
                f"codes 1-{len(usage_order)} assumed to follow the order of the channel-use columns; CHECK "
                f"against the questionnaire")
    return {}, ""


# ------------------------------------------------------------------------------ studies fed


def studies_fed(codebook: Codebook) -> pd.DataFrame:
    """Which studies a codebook feeds: one row per study with `fed` (bool) and `missing` (what the
    codebook would need to feed it, or the parts it still lacks; "" when complete)."""
    cb = codebook
    ch = cb.channels
    usage = len(ch.usage) if ch else 0
    stages = bool(ch and ch.stages and ch.codes)
    last = bool(ch and ch.last_interaction and ch.codes and ({"ces", "csat"} & set(cb.scales)))
    ch_missing = []
    if usage < 2:
        ch_missing.append("channel use (`channels.usage`: two or more 0/1 columns)")
    if not stages:
        ch_missing.append("preferred channel per journey stage (`channels.stages` and `channels.codes`)")
    if not last:
        ch_missing.append("channel of the last service interaction (`channels.last_interaction`) with a CES "
                          "or CSAT scale")
    if not cb.segments:
        ch_missing.append("segments to compare (`segments`)")

    out_cols = {o.column for o in cb.outcomes}
    predictors = [n for n, s in cb.scales.items() if set(s.columns) - out_cols]
    loy_fed = bool(cb.outcomes) and bool(predictors)
    loy_missing = []
    if not cb.outcomes:
        loy_missing.append("a loyalty outcome (`outcomes`)")
    if not predictors:
        loy_missing.append("a rating to predict it with (`scales`)")
    lacking = [n.upper() for n in ("ces", "csat") if n not in cb.scales]
    if lacking:
        loy_missing.append(f"{' and '.join(lacking)} for the CES-vs-CSAT comparison (`scales.ces`, `scales.csat`)")
    if not cb.drivers:
        loy_missing.append("driver ratings for the key-driver map (`drivers`)")

    pf = cb.persona_features
    n_pf = len(pf.all) if pf else 0
    return pd.DataFrame([
        {"study": "channel preferences", "fed": usage >= 2 or stages or last, "missing": "; ".join(ch_missing)},
        {"study": "loyalty: CES vs CSAT", "fed": loy_fed, "missing": "; ".join(loy_missing)},
        {"study": "personas", "fed": n_pf >= 2,
         "missing": "" if n_pf >= 2 else "two or more persona features (`persona_features`)"},
    ])


#: codebook keys agreed for this round (missing codes, recodes, reversed items, readers, wording)
CONTRACT_KEYS = {"missing_codes", "missing", "recode", "reverse", "language", "period", "population", "delimiter",
                 "sheet"}


def validate_draft(codebook: dict) -> tuple[Codebook, list[str]]:
    """The draft as a Codebook. Where this version's schema does not know a key of the round's contract
    (missing codes, recodes, …), those keys are set aside and named, so the summary can still be given."""
    from pydantic import ValidationError

    try:
        return Codebook.model_validate(codebook), []
    except ValidationError:
        dropped: set[str] = set()

        def strip(node):
            if isinstance(node, dict):
                dropped.update(k for k in node if k in CONTRACT_KEYS)
                return {k: strip(v) for k, v in node.items() if k not in CONTRACT_KEYS}
            if isinstance(node, list):
                return [strip(x) for x in node]
            return node

        return Codebook.model_validate(strip(codebook)), sorted(dropped)


def studies_summary(codebook: Codebook) -> list[str]:
    """studies_fed as lines a person reads."""
    lines = []
    for r in studies_fed(codebook).itertuples():
        status = "feeds" if r.fed else "does not feed"
        lines.append(f"{status} {r.study}" + (f" (missing: {r.missing})" if r.missing else ""))
    return lines


# ------------------------------------------------------------------------------ YAML with comments


def _scalar(v) -> str:
    """One YAML scalar, quoted where YAML would misread it (yes/no, leading zeros, `1.0`-like text)."""
    if v is None:
        return "null"
    v = v if isinstance(v, (str, bool)) else _plain(v)
    s = yaml.safe_dump(v, allow_unicode=True, default_flow_style=True, width=10**9)
    s = s.strip()
    if s.endswith("..."):
        s = s[:-3].strip()
    return s


def _inline(v) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(_inline(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_scalar(k)}: {_inline(x)}" for k, x in v.items()) + "}"
    return _scalar(v)


def _comment(why: dict, path: tuple) -> str:
    text = why.get(path)
    return "  # " + re.sub(r"\s+", " ", str(text)) if text else ""


def _emit(node, path: tuple, indent: int, out: list[str], why: dict) -> None:
    pad = " " * indent
    for k, v in node.items():
        p = (*path, k)
        c = _comment(why, p)
        key = _scalar(k)
        if isinstance(v, dict) and v:
            out.append(f"{pad}{key}:{c}")
            _emit(v, p, indent + 2, out, why)
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            out.append(f"{pad}{key}:{c}")
            for i, item in enumerate(v):
                sub: list[str] = []
                _emit(item, (*p, i), indent + 4, sub, why)
                first = sub[0]
                sub[0] = f"{pad}  - {first[indent + 4:]}{_comment(why, (*p, i))}"
                out.extend(sub)
        elif isinstance(v, list) and v and len(_inline(v)) > 100:
            out.append(f"{pad}{key}:{c}")
            out.extend(f"{pad}  - {_inline(x)}" for x in v)
        else:
            out.append(f"{pad}{key}: {_inline(v)}{c}")


def render_yaml(codebook: dict, why: dict | None = None, notes: list[str] | None = None) -> str:
    """The codebook as YAML text with each guess's evidence as a comment on its line."""
    head = ["# Draft codebook written by `engagement codebook draft`. Every role below is a guess; the comment",
            "# on its line says why. Check each one (and scale directions) before relying on the report.",
            "# Add `survey.period` and `survey.population` so the report words them as the survey did."]
    for n in notes or []:
        head.append("# note: " + re.sub(r"\s+", " ", n))
    out: list[str] = []
    _emit(codebook, (), 0, out, why or {})
    return "\n".join(head + out) + "\n"
