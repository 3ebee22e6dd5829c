#!/usr/bin/env Rscript
# Regenerates glmnet_limits_golden.json: where glmnet stops a path for dfmax and pmax, on the
# embedded diabetes data (gaussian; binomial with y = progression > 140), at thresh = 1e-14.
# Usage (from the repository root): Rscript crates/regml/tests/golden/make_glmnet_limits_golden.R
suppressMessages({library(glmnet); library(jsonlite)})
d <- read.csv(gzfile("crates/regml/data/diabetes.csv.gz"))
x <- as.matrix(d[, setdiff(names(d), "progression")])
yg <- d$progression
yb <- as.numeric(yg > 140)
grid <- glmnet(x, yg, thresh = 1e-14)$lambda[1:40]
run <- function(family, y, dfmax = NULL, pmax = NULL, lambda = NULL) {
  args <- list(x = x, y = y, family = family, thresh = 1e-14)
  if (!is.null(dfmax)) args$dfmax <- dfmax
  if (!is.null(pmax)) args$pmax <- pmax
  if (!is.null(lambda)) args$lambda <- lambda
  f <- suppressWarnings(do.call(glmnet, args))
  list(family = family, dfmax = dfmax, pmax = pmax, user_lambda = lambda,
       lambda = f$lambda, df = f$df)
}
cases <- list(
  run("gaussian", yg, dfmax = 4),
  run("gaussian", yg, pmax = 4),
  run("gaussian", yg, dfmax = 0),
  run("gaussian", yg, dfmax = 4, lambda = grid),
  run("gaussian", yg, pmax = 4, lambda = grid),
  run("binomial", yb, dfmax = 3)
)
out <- list(generator = sprintf("R %s, glmnet %s", getRversion(), packageVersion("glmnet")),
            cases = cases)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, null = "null"),
           "crates/regml/tests/golden/glmnet_limits_golden.json")
