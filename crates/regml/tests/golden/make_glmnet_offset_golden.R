#!/usr/bin/env Rscript
# Regenerates glmnet_offset_golden.json.gz: glmnet's offset on the embedded diabetes data
# (gaussian; binomial with y = progression > 140), at thresh = 1e-14. Paths on the default
# grid (with and without intercept, weights, elastic net without standardization) and
# cv.glmnet with fixed fold ids. The logistic path without intercept runs at thresh = 1e-10:
# at 1e-14 glmnet stops converging at its 65th lambda (as it does without an offset, at its
# 46th). Each case stores its offset, the path (lambdas, dev.ratio,
# nonzero counts, intercepts, coefficients) and, for cross-validation, cvm, cvsd,
# lambda.min and lambda.1se.
# Usage (from the repository root): Rscript crates/regml/tests/golden/make_glmnet_offset_golden.R
suppressMessages({library(glmnet); library(jsonlite)})
d <- read.csv(gzfile("crates/regml/data/diabetes.csv.gz"))
x <- as.matrix(d[, setdiff(names(d), "progression")])
n <- nrow(x)
yg <- d$progression
yb <- as.numeric(yg > 140)
i <- seq_len(n)
og <- 40 * sin(i) + 0.5 * (x[, "bmi"] - mean(x[, "bmi"]))
ob <- 0.8 * cos(i) + 1
w <- 1 + (i %% 3)
foldid <- (i * 7) %% 5 + 1
run <- function(family, y, offset, intercept = TRUE, weights = NULL, alpha = 1,
                standardize = TRUE, cv = FALSE, thresh = 1e-14) {
  args <- list(x = x, y = y, family = family, offset = offset, intercept = intercept,
               alpha = alpha, standardize = standardize, thresh = thresh)
  if (!is.null(weights)) args$weights <- weights
  if (cv) {
    args$foldid <- foldid
    args$type.measure <- "deviance"
    r <- suppressWarnings(do.call(cv.glmnet, args))
    f <- r$glmnet.fit
  } else {
    f <- suppressWarnings(do.call(glmnet, args))
  }
  Filter(Negate(is.null), list(
    family = family, intercept = intercept, thresh = thresh, alpha = alpha, standardize = standardize,
    weights = weights, offset = offset,
    foldid = if (cv) I(foldid - 1) else NULL,
    lambda = f$lambda, dev_ratio = f$dev.ratio, nulldev = f$nulldev, df = f$df,
    a0 = unname(f$a0), beta = unname(t(as.matrix(f$beta))),
    cvm = if (cv) r$cvm else NULL, cvsd = if (cv) r$cvsd else NULL,
    lambda_min = if (cv) r$lambda.min else NULL,
    lambda_1se = if (cv) r$lambda.1se else NULL))
}
cases <- list(
  run("gaussian", yg, og),
  run("gaussian", yg, og, intercept = FALSE),
  run("binomial", yb, ob),
  run("binomial", yb, ob, intercept = FALSE, thresh = 1e-10),
  run("binomial", yb, ob, weights = w, alpha = 0.5, standardize = FALSE),
  run("gaussian", yg, og, cv = TRUE),
  run("binomial", yb, ob, cv = TRUE)
)
out <- list(generator = sprintf("R %s, glmnet %s", getRversion(), packageVersion("glmnet")),
            cases = cases)
con <- gzfile("crates/regml/tests/golden/glmnet_offset_golden.json.gz", "w")
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE), con)
close(con)
