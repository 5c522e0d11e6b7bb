"""The persona typing tool: a handful of survey questions that assign a new customer to a persona.

Method: stepwise linear discriminant analysis, as in the classic typing tools of segmentation
practice. Questions enter one at a time, each time the one that most lowers Wilks' lambda
det(W) / det(T) (within-persona over total scatter of the answers) — the question that adds most to
separating the personas given those already in. At most `max_questions` (default 8) enter. The
discriminant functions use the answers coded as in the persona model (yes/no 0/1, a rating's level
number, counts and spend log-transformed and standardized; a missing answer takes the training mean),
a pooled within-persona covariance, and the personas' weighted shares as prior probabilities.

Accuracy is the share of respondents the tool puts in the persona the full latent class model gives
them, estimated by stratified k-fold cross-validation in which the question selection is repeated
inside every training fold (so the estimate is not flattered by having chosen the questions on the
test respondents). The tool keeps the smallest number of questions whose cross-validated accuracy is
within one percentage point of the best.

The tool is saved as JSON (`typing_tool.json` next to the report): questions, codings, discriminant
coefficients, persona names and the accuracy — readable, diffable, no pickle. `assign_personas`
applies it to a new file and writes the respondent id, persona number and name only (never PII).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.model_selection import StratifiedKFold, StratifiedShuffleSplit

from ...degrade import CannotEstimate, NotEstimated
from ...errors import InputError
from ...survey_stats import single_threaded
from .features import FeatureEncoder

if TYPE_CHECKING:
    from .fit import PersonaFit

FORMAT_VERSION = 1
TYPING_TOOL_FILE = "typing_tool.json"
#: keep the fewest questions whose cross-validated accuracy is within this of the best
ACCURACY_TOLERANCE = 0.01
#: above this many respondents the cross-validation runs on a seeded sample of this size, stratified by
#: persona (the final tool is still fitted on everyone): 100,000 keeps the accuracy's 95% interval
#: within ±0.3 points while a million respondents' CV took 24 s
CV_MAX_N = 100_000


def wilks_order(X: np.ndarray, y: np.ndarray, max_questions: int) -> list[int]:
    """Forward selection by Wilks' lambda: column indices in the order they enter."""
    Xc = X - X.mean(axis=0)
    T = Xc.T @ Xc
    W = np.zeros_like(T)
    for g in np.unique(y):
        d = X[y == g] - X[y == g].mean(axis=0)
        W += d.T @ d
    chosen: list[int] = []
    remaining = [j for j in range(X.shape[1]) if T[j, j] > 1e-12]
    while remaining and len(chosen) < max_questions:
        best, best_lambda = None, np.inf
        for j in remaining:
            idx = [*chosen, j]
            sign_w, logdet_w = np.linalg.slogdet(W[np.ix_(idx, idx)])
            sign_t, logdet_t = np.linalg.slogdet(T[np.ix_(idx, idx)])
            if sign_w <= 0 or sign_t <= 0:
                continue  # collinear with the questions already in
            lam = logdet_w - logdet_t
            if lam < best_lambda - 1e-12:
                best, best_lambda = j, lam
        if best is None:
            break
        chosen.append(best)
        remaining.remove(best)
    return chosen


def _lda(X: np.ndarray, y: np.ndarray, priors: np.ndarray) -> LinearDiscriminantAnalysis:
    return LinearDiscriminantAnalysis(solver="lsqr", priors=priors).fit(X, y)


def _priors(y: np.ndarray, w: np.ndarray, classes: np.ndarray) -> np.ndarray:
    p = np.array([w[y == c].sum() for c in classes])
    return p / p.sum()


@dataclass
class TypingTool:
    """A fitted typing tool (see the module docstring); `predict` and `assign` apply it."""

    id_column: str
    questions: list[str]
    encoder: FeatureEncoder
    #: training mean of each question's code, used for a missing answer
    impute: dict[str, float]
    classes: list[int]
    names: dict[int, str]
    coef: np.ndarray  # personas × questions
    intercept: np.ndarray
    accuracy: dict = field(default_factory=dict)

    def codes(self, df: pd.DataFrame) -> np.ndarray:
        missing = [q for q in self.questions if q not in df.columns]
        if missing:
            raise KeyError(missing)
        enc = FeatureEncoder(binary=[q for q in self.questions if q in self.encoder.binary],
                             ordinal=[q for q in self.questions if q in self.encoder.ordinal],
                             continuous=[q for q in self.questions if q in self.encoder.continuous],
                             levels=self.encoder.levels, transform=self.encoder.transform)
        c = enc.codes(df)[self.questions]
        return c.fillna(self.impute).to_numpy(float)

    def scores(self, df: pd.DataFrame) -> np.ndarray:
        return self.codes(df) @ self.coef.T + self.intercept

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        """Persona number of each row; 0 for rows that answered none of the questions."""
        answered = df[self.questions].notna().any(axis=1).to_numpy()
        pred = np.asarray(self.classes)[self.scores(df).argmax(axis=1)]
        return np.where(answered, pred, 0)

    def to_dict(self) -> dict:
        enc = self.encoder
        return {
            "format": "engagement persona typing tool", "version": FORMAT_VERSION,
            "method": "stepwise linear discriminant analysis (Wilks' lambda); persona = argmax of "
                      "codes · coef[persona] + intercept[persona]",
            "id_column": self.id_column,
            "questions": [{"column": q, "label": enc.labels.get(q, q), "kind": enc.kind(q),
                           **({"levels": enc.levels[q]} if q in enc.levels else {}),
                           **({"transform": enc.transform[q]} if q in enc.transform else {}),
                           "missing_code": self.impute[q]} for q in self.questions],
            "personas": [{"persona": int(c), "name": self.names[c], "coef": self.coef[i].tolist(),
                          "intercept": float(self.intercept[i])} for i, c in enumerate(self.classes)],
            "accuracy": self.accuracy,
        }

    def save(self, path: str | Path) -> Path:
        from ...results import to_jsonable

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(to_jsonable(self.to_dict()), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> TypingTool:
        path = Path(path)
        if not path.exists():
            raise InputError(path, "an existing typing tool file (typing_tool.json from a persona run)")
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
            qs = d["questions"]
            enc = FeatureEncoder(
                binary=[q["column"] for q in qs if q["kind"] == "binary"],
                ordinal=[q["column"] for q in qs if q["kind"] == "ordinal"],
                continuous=[q["column"] for q in qs if q["kind"] == "continuous"],
                levels={q["column"]: q["levels"] for q in qs if "levels" in q},
                transform={q["column"]: q["transform"] for q in qs if "transform" in q},
                labels={q["column"]: q.get("label", q["column"]) for q in qs})
            return cls(id_column=d["id_column"], questions=[q["column"] for q in qs], encoder=enc,
                       impute={q["column"]: float(q["missing_code"]) for q in qs},
                       classes=[int(p["persona"]) for p in d["personas"]],
                       names={int(p["persona"]): p["name"] for p in d["personas"]},
                       coef=np.array([p["coef"] for p in d["personas"]], float).reshape(len(d["personas"]), len(qs)),
                       intercept=np.array([p["intercept"] for p in d["personas"]], float),
                       accuracy=d.get("accuracy", {}))
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(path, f"a typing tool JSON file ({type(exc).__name__}: {exc})") from None


@single_threaded(user_api=None)
def train_typing_tool(codes: pd.DataFrame, enc: FeatureEncoder, labels: np.ndarray, weights: np.ndarray,
                      names: dict[int, str], id_column: str, max_questions: int = 8, cv_folds: int = 5,
                      seed: int = 0) -> tuple[TypingTool, pd.DataFrame, pd.DataFrame]:
    """Select questions, cross-validate, fit the final tool. Returns the tool, the accuracy curve
    (questions → cross-validated accuracy, with the question that entered at each step on the full
    data) and the cross-validated confusion table of the chosen tool."""
    feats = enc.features
    impute = {c: float(np.nanmean(codes[c])) for c in feats}
    X = codes[feats].fillna(impute).to_numpy(float)
    y = np.asarray(labels)
    w = np.asarray(weights, float)
    classes = np.unique(y)
    q_max = min(max_questions, len(feats))
    folds = min(cv_folds, int(np.bincount(np.searchsorted(classes, y)).min()))
    if folds < 2:
        raise CannotEstimate("a persona has fewer than two respondents, too few to cross-validate a typing tool")
    Xs, ys, ws = X, y, w  # the respondents the cross-validation runs on
    if len(y) > CV_MAX_N:
        cv = np.sort(next(StratifiedShuffleSplit(1, train_size=CV_MAX_N, random_state=seed).split(X, y))[0])
        Xs, ys, ws = X[cv], y[cv], w[cv]
    correct = np.zeros((q_max, len(ys)), dtype=bool)
    predicted = np.zeros((q_max, len(ys)), dtype=int)
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(Xs, ys):
        order = wilks_order(Xs[train], ys[train], q_max)
        priors = _priors(ys[train], ws[train], classes)
        for q in range(1, len(order) + 1):
            cols = order[:q]
            pred = _lda(Xs[np.ix_(train, cols)], ys[train], priors).predict(Xs[np.ix_(test, cols)])
            predicted[q - 1, test] = pred
            correct[q - 1, test] = pred == ys[test]
        for q in range(len(order) + 1, q_max + 1):  # no further question could enter in this fold
            predicted[q - 1, test], correct[q - 1, test] = predicted[len(order) - 1, test], correct[len(order) - 1, test]
    order = wilks_order(X, y, q_max)
    acc = correct.mean(axis=1)
    wacc = (correct * ws).sum(axis=1) / ws.sum()
    se = np.sqrt(acc * (1 - acc) / len(ys))
    curve = pd.DataFrame({"questions": np.arange(1, q_max + 1), "accuracy": acc, "ci_low": acc - 1.96 * se,
                          "ci_high": acc + 1.96 * se, "weighted_accuracy": wacc,
                          "question_added": [enc.labels.get(feats[j], feats[j]) for j in order]
                          + [""] * (q_max - len(order))})
    q = int(np.flatnonzero(acc[: len(order)] >= acc[: len(order)].max() - ACCURACY_TOLERANCE)[0]) + 1
    cols = order[:q]
    model = _lda(X[:, cols], y, _priors(y, w, classes))
    chosen = [feats[j] for j in cols]
    confusion = pd.crosstab(pd.Series(ys, name="persona (model)"), pd.Series(predicted[q - 1], name="typing tool"))
    tool = TypingTool(
        id_column=id_column, questions=chosen, encoder=enc, impute={c: impute[c] for c in chosen},
        classes=[int(c) for c in model.classes_], names={int(c): names[int(c)] for c in model.classes_},
        coef=np.atleast_2d(model.coef_) if len(classes) > 2 else np.vstack([np.zeros(q), model.coef_[0]]),
        intercept=np.atleast_1d(model.intercept_) if len(classes) > 2 else np.array([0.0, model.intercept_[0]]),
        accuracy={"cv_accuracy": float(acc[q - 1]), "ci_low": float(curve["ci_low"].iloc[q - 1]),
                  "ci_high": float(curve["ci_high"].iloc[q - 1]), "cv_weighted_accuracy": float(wacc[q - 1]),
                  "folds": folds, "n": int(len(ys)), "questions": q, "max_questions": q_max,
                  "chance": float(_priors(y, w, classes).max()),
                  "definition": "share of respondents put in the persona the latent class model assigns, "
                                "stratified k-fold cross-validation with the question selection repeated "
                                "inside every training fold"})
    if len(ys) < len(y):
        tool.accuracy["cv_sample"] = (f"cross-validated on a random sample of {len(ys):,} of the {len(y):,} respondents, "
                                      f"stratified by persona (seed {seed}); the tool itself is fitted on everyone")
    return tool, curve, confusion


@dataclass(frozen=True, eq=False)
class TypingToolResult:
    """`build_typing_tool(fit)`: the tool, its accuracy curve (questions -> cross-validated accuracy),
    the cross-validated confusion table of the chosen tool, and its questions in order. `skipped`
    says why there is no tool (a single persona)."""

    tool: TypingTool | None = None
    curve: pd.DataFrame | None = None
    confusion: pd.DataFrame | None = None
    questions: pd.DataFrame | None = None
    skipped: str | None = None
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        return self.questions if self.questions is not None else pd.DataFrame()

    def results(self, file: str = TYPING_TOOL_FILE) -> dict:
        """The typing-tool entries of results.json's `personas` section."""
        if self.tool is None:
            return {"typing_tool": None}
        acc = self.tool.accuracy
        return {"typing_tool_accuracy": acc["cv_accuracy"], "typing_tool": {
            **acc, "file": file, "questions_used": self.tool.questions, "curve": self.curve.to_dict(orient="records")}}


def build_typing_tool(fit: PersonaFit, max_questions: int = 8, cv_folds: int = 5, seed: int = 0) -> TypingToolResult:
    """Select questions, cross-validate and fit the typing tool of a persona solution (see
    `train_typing_tool`); nothing is written (`save_typing_tool` does that)."""
    if fit.skipped:
        return TypingToolResult(skipped=fit.skipped)
    if fit.k < 2:
        return TypingToolResult(skipped="With a single persona every customer belongs to it; no typing tool is needed.")
    notes = ()
    if max_questions > 8:
        notes = (f"> max_questions = {max_questions}: a typing tool is meant to be short; the articles' practice "
                 "and this study's default is at most eight questions.",)
    tool, curve, confusion = train_typing_tool(fit.codes, fit.enc, fit.labels, fit.weights, fit.names,
                                               fit.id_column, max_questions, cv_folds, seed)
    questions = pd.DataFrame({"order": range(1, len(tool.questions) + 1), "question": tool.questions,
                              "label": [fit.enc.labels.get(q, q) for q in tool.questions],
                              "kind": [fit.enc.kind(q) for q in tool.questions],
                              "accuracy with this and earlier questions":
                                  curve["accuracy"].iloc[:len(tool.questions)].to_numpy()})
    return TypingToolResult(tool, curve, confusion, questions, notes=notes)


def save_typing_tool(result: TypingToolResult, output_dir: str | Path) -> Path | None:
    """`output_dir/typing_tool.json` (None when there is no tool)."""
    if isinstance(result, NotEstimated) or result.tool is None:
        return None
    return result.tool.save(Path(output_dir) / TYPING_TOOL_FILE)


def assign_personas(typing_tool_path: str | Path, data_path: str | Path, out_path: str | Path | None = None,
                    codebook_path: str | Path | None = None) -> Path:
    """Type every respondent of a new file with a saved typing tool; writes a CSV with the id column,
    `persona` (0 = answered none of the questions) and `persona_name` — nothing else, so no PII
    leaves. With a codebook the file is read and validated as a survey (ingest, PII dropped);
    without one it is read as it is (CSV, Excel, SPSS or Parquet by its extension). Raises InputError
    naming the file and column on bad input. Returns the path written (default:
    `<data stem>-personas.csv` beside the data)."""
    from ...codebook import Codebook, load_codebook
    from ...ingest import read_raw, read_survey

    tool = TypingTool.load(typing_tool_path)
    data_path = Path(data_path)
    if codebook_path:
        df = read_survey(data_path, load_codebook(codebook_path)).data
    else:
        df = read_raw(data_path, Codebook(id=tool.id_column))[0]
    for col in [tool.id_column, *tool.questions]:
        if col not in df.columns:
            raise InputError(data_path, f"the column the typing tool needs ({'respondent id' if col == tool.id_column else 'question'})",
                             column=col)
    try:
        persona = tool.predict(df)
    except ValueError as exc:
        raise InputError(data_path, f"answers the typing tool can code ({exc})") from None
    out = pd.DataFrame({tool.id_column: df[tool.id_column].to_numpy(), "persona": persona.astype(int),
                        "persona_name": [tool.names.get(int(p), "") for p in persona]})
    out_path = Path(out_path) if out_path else data_path.with_name(f"{data_path.stem}-personas.csv")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(out_path, index=False, lineterminator="\n")
    return out_path
