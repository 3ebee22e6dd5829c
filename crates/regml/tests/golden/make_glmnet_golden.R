#!/usr/bin/env Rscript
# Regenerates glmnet_golden.json.gz: small problems fitted by R glmnet at thresh = 1e-14.
# Usage (from the repository root, after scripts/install-golden-deps.sh):
#   Rscript crates/regml/tests/golden/make_glmnet_golden.R
# For gaussian fits y is scaled to unit (weighted, 1/N) standard deviation, because glmnet
# divides lambda by sd(y) internally when alpha < 1.
suppressMessages({library(glmnet); library(jsonlite)})
set.seed(20261123)

simulate <- function(n, p, rho) {
  z <- matrix(rnorm(n * p), n, p)
  x <- z
  for (j in 2:p) x[, j] <- rho * x[, j - 1] + sqrt(1 - rho^2) * z[, j]
  # uneven scales and offsets so that standardization matters
  x <- sweep(x, 2, seq(0.5, 3, length.out = p), "*")
  x <- sweep(x, 2, seq(-2, 2, length.out = p), "+")
  beta <- rep(0, p); k <- max(2, p %/% 4)
  beta[seq(1, p, length.out = k)] <- seq(1.5, -1.5, length.out = k)
  list(x = x, eta = drop(x %*% beta))
}

cases <- list()
id <- 0
for (family in c("gaussian", "binomial")) {
  for (shape in c("tall", "wide")) {
    for (alpha in c(1, 0.5, 0.05)) {
      for (standardize in c(TRUE, FALSE)) {
        id <- id + 1
        n <- if (shape == "tall") 60 else 25
        p <- if (shape == "tall") 8 else 40
        s <- simulate(n, p, 0.5)
        # cycle the remaining options so every combination occurs
        combo <- (id - 1) %% 8
        intercept <- bitwAnd(combo, 1) == 0
        use_w <- bitwAnd(combo, 2) != 0
        use_pf <- bitwAnd(combo, 4) != 0
        w <- if (use_w) runif(n, 0.2, 2) else rep(1, n)
        pf <- rep(1, p)
        if (use_pf) { pf[1] <- 0; pf[2] <- 2; pf[p] <- 0.5 }
        if (family == "gaussian") {
          y <- s$eta + rnorm(n, sd = 1.5) + 3
          wn <- w / sum(w)
          ym <- if (intercept) sum(wn * y) else 0
          y <- y / sqrt(sum(wn * (y - ym)^2))
        } else {
          y <- as.numeric(runif(n) < 1 / (1 + exp(-(s$eta - mean(s$eta)) / 2)))
        }
        fit <- glmnet(s$x, y, family = family, alpha = alpha, weights = w,
                      penalty.factor = pf, standardize = standardize, intercept = intercept,
                      nlambda = 30, thresh = 1e-14, maxit = 1e7)
        cases[[length(cases) + 1]] <- list(
          name = sprintf("%s_%s_alpha%g_std%d_int%d_w%d_pf%d", family, shape, alpha,
                         standardize, intercept, use_w, use_pf),
          family = family, alpha = alpha, standardize = standardize, intercept = intercept,
          n = n, p = p, x = as.vector(s$x), y = y, weights = w, penalty_factor = pf,
          lower = NULL, lambda = fit$lambda, a0 = as.vector(fit$a0),
          beta = as.vector(as.matrix(fit$beta)), dev_ratio = fit$dev.ratio)
      }
    }
  }
}
# box constraints: non-negative lasso / elastic net
for (family in c("gaussian", "binomial")) {
  for (alpha in c(1, 0.5)) {
    s <- simulate(50, 10, 0.5)
    if (family == "gaussian") {
      y <- s$eta + rnorm(50, sd = 1.5)
      y <- y / sqrt(mean((y - mean(y))^2))
    } else {
      y <- as.numeric(runif(50) < 1 / (1 + exp(-(s$eta - mean(s$eta)) / 2)))
    }
    fit <- glmnet(s$x, y, family = family, alpha = alpha, lower.limits = 0, upper.limits = 1,
                  nlambda = 30, thresh = 1e-14, maxit = 1e7)
    cases[[length(cases) + 1]] <- list(
      name = sprintf("%s_bounds_alpha%g", family, alpha), family = family, alpha = alpha,
      standardize = TRUE, intercept = TRUE, n = 50, p = 10, x = as.vector(s$x), y = y,
      weights = rep(1, 50), penalty_factor = rep(1, 10), lower = rep(0, 10), upper = rep(1, 10),
      lambda = fit$lambda, a0 = as.vector(fit$a0), beta = as.vector(as.matrix(fit$beta)),
      dev_ratio = fit$dev.ratio)
  }
}
out <- list(generator = sprintf("R %s, glmnet %s", getRversion(), packageVersion("glmnet")),
            cases = cases)
con <- gzfile("crates/regml/tests/golden/glmnet_golden.json.gz", "w")
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, null = "null"), con)
close(con)
cat("wrote", length(cases), "cases\n")
