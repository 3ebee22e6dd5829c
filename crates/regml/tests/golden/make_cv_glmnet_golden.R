#!/usr/bin/env Rscript
# Regenerates cv_glmnet_golden.json.gz: cv.glmnet at thresh = 1e-14 with fixed fold ids
# (least squares; binomial labels; binomial proportions).
# Usage (from the repository root): Rscript crates/regml/tests/golden/make_cv_glmnet_golden.R
suppressMessages({library(glmnet); library(jsonlite)})
set.seed(7)
n <- 90; p <- 12
x <- matrix(rnorm(n * p), n, p) %*% diag(seq(0.5, 2, length.out = p))
eta <- drop(x[, 1:4] %*% c(1, -0.8, 0.6, 0.3))
foldid <- rep(1:5, length.out = n)
w <- runif(n, 0.5, 1.5)
cases <- list()
yg <- eta + rnorm(n)
yg <- yg / sqrt(mean((yg - mean(yg))^2))
for (m in c("mse", "mae")) {
  f <- cv.glmnet(x, yg, foldid = foldid, type.measure = m, nlambda = 30, thresh = 1e-14)
  cases[[length(cases) + 1]] <- list(family = "gaussian", measure = m, weighted = FALSE,
    y = yg, lambda = f$lambda, cvm = f$cvm, cvsd = f$cvsd,
    lambda_min = f$lambda.min, lambda_1se = f$lambda.1se)
}
yb <- as.numeric(runif(n) < 1 / (1 + exp(-eta)))
for (m in c("deviance", "class", "auc", "mse")) {
  f <- cv.glmnet(x, yb, family = "binomial", foldid = foldid, type.measure = m, nlambda = 30,
                 thresh = 1e-14, weights = w)
  cases[[length(cases) + 1]] <- list(family = "binomial", measure = m, weighted = TRUE,
    y = yb, lambda = f$lambda, cvm = f$cvm, cvsd = f$cvsd,
    lambda_min = f$lambda.min, lambda_1se = f$lambda.1se)
}
# binomial proportions: successes among 1-6 trials per row, as a two-column matrix of shares
# with the weights times the trials (glmnet's matrix response)
trials <- sample(1:6, n, replace = TRUE)
yp <- rbinom(n, trials, 1 / (1 + exp(-eta))) / trials
for (m in c("deviance", "class", "auc", "mse")) {
  f <- cv.glmnet(x, cbind(1 - yp, yp), family = "binomial", foldid = foldid, type.measure = m,
                 nlambda = 30, thresh = 1e-14, weights = w * trials)
  cases[[length(cases) + 1]] <- list(family = "binomial", measure = m, weighted = TRUE,
    y = yp, case_weights = w * trials, lambda = f$lambda, cvm = f$cvm, cvsd = f$cvsd,
    lambda_min = f$lambda.min, lambda_1se = f$lambda.1se)
}
out <- list(generator = sprintf("R %s, glmnet %s", getRversion(), packageVersion("glmnet")),
            n = n, p = p, x = as.vector(x), foldid = foldid, weights = w, cases = cases)
con <- gzfile("crates/regml/tests/golden/cv_glmnet_golden.json.gz", "w")
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE), con)
close(con)
cat("wrote", length(cases), "cases\n")
