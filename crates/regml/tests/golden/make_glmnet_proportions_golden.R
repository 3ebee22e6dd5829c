#!/usr/bin/env Rscript
# Regenerates glmnet_proportions_golden.json: glmnet's binomial paths on grouped data (a
# two-column matrix of failures and successes per row) at thresh = 1e-14, on 60 rows of 5
# AR(1)-correlated features drawn here (seed 2), lasso and elastic net, with and without
# standardization: the data, lambdas, explained deviance, intercepts and coefficients.
# Usage (from the repository root):
#   Rscript crates/regml/tests/golden/make_glmnet_proportions_golden.R
suppressMessages({library(glmnet); library(jsonlite)})
set.seed(2)
n <- 60; p <- 5
z <- matrix(rnorm(n * p), n, p)
x <- z
for (j in 2:p) x[, j] <- 0.5 * x[, j - 1] + sqrt(1 - 0.25) * z[, j]
x <- round(x, 6)
trials <- sample(1:8, n, replace = TRUE)
prob <- 1 / (1 + exp(-(0.3 + x[, 1] - 0.7 * x[, 3])))
succ <- rbinom(n, trials, prob)
y <- cbind(trials - succ, succ)
run <- function(alpha, standardize) {
  f <- glmnet(x, y, family = "binomial", alpha = alpha, standardize = standardize,
              thresh = 1e-14)
  list(alpha = alpha, standardize = standardize, lambda = f$lambda, dev_ratio = f$dev.ratio,
       a0 = unname(f$a0), beta = unname(t(as.matrix(f$beta))))
}
out <- list(x = unname(x), trials = trials, successes = succ,
            cases = list(run(1, TRUE), run(0.5, TRUE), run(1, FALSE)))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE),
           "crates/regml/tests/golden/glmnet_proportions_golden.json")
