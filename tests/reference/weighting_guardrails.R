# Reference numbers for the weighting guard rails (engagement.weighting / survey_stats, issue 10 item 5).
#
#   Rscript tests/reference/weighting_guardrails.R   (from the repository root; R 4.2.2, survey 4.1-1 from Debian)
#
# Input: tests/reference/guardrails_sample.csv (300 synthetic respondents: sex, region, age are calibrated
# to the margins below; d is a base weight; y has missing values; b is 0/1; x is a factor).
# Output: tests/reference/weighting_guardrails.csv, long format (design, quantity, index, value):
#   weights of each design in row order, and for each design svymean of y (na.rm), b and x with
#   deff = "replace" (the with-replacement SRS variance, matching the with-replacement linearisation).
# Designs:
#   raking       calibrate(calfun = "raking") to convergence (equal to rake() at convergence)
#   logit        calibrate(calfun = "logit", bounds = c(0.5, 2.5)): bounded g-weights
#   trim         trimWeights(raking, lower = 0.4, upper = 2.5)            (one pass, as by default)
#   trim_strict  trimWeights(raking, lower = 0.4, upper = 2.5, strict = TRUE)
suppressMessages(library(survey))
options(digits = 17)
dat <- read.csv("tests/reference/guardrails_sample.csv", stringsAsFactors = TRUE)
n <- nrow(dat)
dat$d <- dat$d * n / sum(dat$d)  # base weights scaled to sum to n (as engagement does)
dat$age <- factor(dat$age)
dat$b <- as.numeric(dat$b)
base <- svydesign(ids = ~1, weights = ~d, data = dat)
# population totals for ~sex + region + age: intercept, then the non-first level of each factor
# margins: sex F 0.45 M 0.55; region N 0.35 S 0.30 E 0.20 W 0.15; age 1 0.30 2 0.35 3 0.35
pop <- c(`(Intercept)` = n, sexM = n * 0.55, regionN = n * 0.35, regionS = n * 0.30, regionW = n * 0.15,
         age2 = n * 0.35, age3 = n * 0.35)
raking <- calibrate(base, ~sex + region + age, population = pop, calfun = "raking", epsilon = 1e-13, maxit = 200)
logit <- calibrate(base, ~sex + region + age, population = pop, calfun = "logit", bounds = c(0.5, 2.5),
                   epsilon = 1e-13, maxit = 200)
trim <- trimWeights(raking, lower = 0.4, upper = 2.5)
trim_strict <- trimWeights(raking, lower = 0.4, upper = 2.5, strict = TRUE)
designs <- list(raking = raking, logit = logit, trim = trim, trim_strict = trim_strict)
rows <- list()
add <- function(design, quantity, index, value) {
  rows[[length(rows) + 1]] <<- data.frame(design = design, quantity = quantity, index = index, value = sprintf("%.17g", value))
}
for (name in names(designs)) {
  des <- designs[[name]]
  add(name, "weight", seq_len(n), weights(des))
  for (v in c("y", "b", "x")) {
    est <- svymean(as.formula(paste0("~", v)), des, na.rm = TRUE, deff = "replace")
    add(name, paste0(v, "_mean"), names(coef(est)), as.numeric(coef(est)))
    add(name, paste0(v, "_se"), names(coef(est)), as.numeric(SE(est)))
    add(name, paste0(v, "_deff"), names(coef(est)), as.numeric(deff(est)))
  }
}
out <- do.call(rbind, rows)
write.csv(out, "tests/reference/weighting_guardrails.csv", row.names = FALSE)
cat(sprintf("R %s, survey %s: wrote %d numbers\n", getRversion(), packageVersion("survey"), nrow(out)))
