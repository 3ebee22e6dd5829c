#!/usr/bin/env Rscript
# Runs R glmnet on one problem: Rscript run_glmnet.R MODE PROBLEM_ID OUTDIR
# Warm-up on the first 5 lambdas, then the whole path timed in-process (loading excluded).
# MODE default: thresh = 1e-7 (glmnet's default); tight: thresh = 1e-14; tol=X: thresh = X.
suppressMessages({library(glmnet); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
mode <- args[1]; pid <- args[2]; outdir <- args[3]
here <- dirname(normalizePath(sub("--file=", "", grep("--file=", commandArgs(), value = TRUE))))
name <- strsplit(pid, "-")[[1]][1]
meta <- fromJSON(file.path(here, "data", paste0(name, ".json")), simplifyVector = FALSE)
n <- meta$n; p <- meta$p
x <- matrix(readBin(file.path(here, "data", paste0(name, ".x.f64")), "double", n = n * p, size = 8, endian = "little"), n, p)
y <- readBin(file.path(here, "data", paste0(name, ".y.f64")), "double", n = n, size = 8, endian = "little")
prob <- Filter(function(q) q$id == pid, meta$problems)[[1]]
lambdas <- unlist(prob$lambdas)
thresh <- if (mode == "tight") 1e-14 else if (startsWith(mode, "tol=")) as.numeric(substring(mode, 5)) else 1e-7
fam <- prob$family
pf <- if (is.null(prob$penalty_factor)) rep(1, p) else unlist(prob$penalty_factor)
run <- function(l) glmnet(x, y, family = fam, alpha = prob$alpha, lambda = l, standardize = FALSE,
                          intercept = FALSE, thresh = thresh, maxit = 1e7, penalty.factor = pf)
invisible(run(lambdas[1:5]))
t0 <- proc.time()[["elapsed"]]
fit <- run(lambdas)
secs <- proc.time()[["elapsed"]] - t0
beta <- as.matrix(fit$beta)
if (ncol(beta) < length(lambdas)) stop("glmnet returned fewer lambdas than requested")
tag <- file.path(outdir, paste0(pid, ".glmnet.", mode))
writeBin(as.vector(beta), paste0(tag, ".coef.f64"), size = 8, endian = "little")
writeLines(toJSON(list(seconds = secs, thresh = thresh), auto_unbox = TRUE), paste0(tag, ".json"))
