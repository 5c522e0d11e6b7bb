# Raking + a raked mean in R `survey`, timed (called by `make bench` / engagement.bench when R is installed).
#   Rscript benchmarks/bench_raking.R data.csv margins.csv
# data.csv: the raking variables and y; margins.csv: variable, level, share. Prints one JSON line:
# {"seconds": <rake + svymean>, "se": <SE of the raked mean of y>, "n": <rows>}.
suppressMessages(library(survey))
args <- commandArgs(trailingOnly = TRUE)
dat <- read.csv(args[1], colClasses = "character")
dat$y <- as.numeric(dat$y)
margins <- read.csv(args[2], colClasses = c("character", "character", "numeric"))
n <- nrow(dat)
vars <- unique(margins$variable)
for (v in vars) dat[[v]] <- factor(dat[[v]])
t0 <- proc.time()[["elapsed"]]
des <- svydesign(ids = ~1, weights = rep(1, n), data = dat)
sample_margins <- lapply(vars, function(v) as.formula(paste0("~", v)))
population <- lapply(vars, function(v) {
  m <- margins[margins$variable == v & margins$level %in% levels(dat[[v]]), ]
  out <- data.frame(factor(m$level, levels = levels(dat[[v]])), n * m$share / sum(m$share))
  names(out) <- c(v, "Freq")
  out
})
raked <- rake(des, sample_margins, population, control = list(maxit = 1000, epsilon = 1e-12, verbose = FALSE))
est <- svymean(~y, raked, na.rm = TRUE)
seconds <- proc.time()[["elapsed"]] - t0
cat(sprintf('{"seconds": %.6f, "se": %.17g, "n": %d}\n', seconds, SE(est)[1], n))
