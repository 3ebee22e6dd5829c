#!/usr/bin/env Rscript
# Regenerates glmnet_options_golden.json: glmnet's dfmax, pmax, exclude and infinite penalty
# factors on the embedded diabetes data (gaussian; binomial with y = progression > 140), at
# thresh = 1e-14: where the path stops, its lambdas, nonzero counts, intercepts and
# coefficients.
# Usage (from the repository root): Rscript crates/regml/tests/golden/make_glmnet_options_golden.R
suppressMessages({library(glmnet); library(jsonlite)})
d <- read.csv(gzfile("crates/regml/data/diabetes.csv.gz"))
x <- as.matrix(d[, setdiff(names(d), "progression")])
yg <- d$progression
yb <- as.numeric(yg > 140)
grid <- glmnet(x, yg, thresh = 1e-14)$lambda[1:40]
run <- function(family, y, dfmax = NULL, pmax = NULL, lambda = NULL, exclude = NULL,
                pf = NULL) {
  args <- list(x = x, y = y, family = family, thresh = 1e-14)
  if (!is.null(dfmax)) args$dfmax <- dfmax
  if (!is.null(pmax)) args$pmax <- pmax
  if (!is.null(lambda)) args$lambda <- lambda
  if (!is.null(exclude)) args$exclude <- exclude
  if (!is.null(pf)) args$penalty.factor <- pf
  f <- suppressWarnings(do.call(glmnet, args))
  # options not given are left out; exclude as 0-based indices; penalty factors as text
  # ("inf" is not a JSON number)
  Filter(Negate(is.null), list(
    family = family, dfmax = dfmax, pmax = pmax, user_lambda = lambda,
    exclude = if (is.null(exclude)) NULL else I(exclude - 1),
    penalty_factor = if (is.null(pf)) NULL else ifelse(is.infinite(pf), "inf", format(pf)),
    lambda = f$lambda, df = f$df, a0 = unname(f$a0), beta = unname(t(as.matrix(f$beta)))))
}
cases <- list(
  run("gaussian", yg, dfmax = 4),
  run("gaussian", yg, pmax = 4),
  run("gaussian", yg, dfmax = 0),
  run("gaussian", yg, dfmax = 4, lambda = grid),
  run("gaussian", yg, pmax = 4, lambda = grid),
  run("binomial", yb, dfmax = 3),
  run("gaussian", yg, exclude = c(3, 5)),
  run("binomial", yb, pf = c(1, 2, 1, Inf, 1, 1, 0.5, 1, 1, 1))
)
out <- list(generator = sprintf("R %s, glmnet %s", getRversion(), packageVersion("glmnet")),
            cases = cases)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE),
           "crates/regml/tests/golden/glmnet_options_golden.json")
