# Reference values for tests/surveys/test_weighting.py, computed with R's survey package
# (Lumley; Debian package r-cran-survey 4.1-1 on R 4.2). Data: data(api) from that package.
# Run: Rscript tests/surveys/data/apistrat_reference.R
library(survey)
options(digits = 15)
data(api)
cols <- c("cds", "stype", "api00", "api99", "enroll", "sch.wide", "comp.imp", "both",
          "awards", "meals", "pw", "fpc")
write.csv(apistrat[cols], "apistrat.csv", row.names = FALSE)
show <- function(label, x) cat(label, format(x, digits = 15), "\n")

dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)
m <- svymean(~api00, dstrat); show("mean api00", c(coef(m), SE(m)))
t <- svytotal(~enroll, dstrat); show("total enroll", c(coef(t), SE(t)))
p <- svymean(~sch.wide, dstrat); show("mean sch.wide No/Yes", c(coef(p), SE(p)))
a <- svymean(~awards, dstrat); show("mean awards No/Yes", c(coef(a), SE(a)))
ci <- svyciprop(~I(sch.wide == "Yes"), dstrat, method = "logit")
show("ciprop sch.wide Yes", c(coef(ci), SE(ci), attr(ci, "ci")))
show("degf", degf(dstrat))

# Post-stratification on awards, population counts from apipop.
pop.awards <- data.frame(awards = c("No", "Yes"), Freq = c(2027, 4167))
dps <- postStratify(dstrat, ~awards, pop.awards)
m <- svymean(~api00, dps); show("ps mean api00", c(coef(m), SE(m)))
t <- svytotal(~enroll, dps); show("ps total enroll", c(coef(t), SE(t)))
p <- svymean(~sch.wide, dps); show("ps mean sch.wide No/Yes", c(coef(p), SE(p)))
ci <- svyciprop(~I(sch.wide == "Yes"), dps, method = "logit")
show("ps ciprop sch.wide Yes", c(coef(ci), SE(ci), attr(ci, "ci")))

# Raking on sch.wide and comp.imp, population counts from apipop.
pop.schwide <- data.frame(sch.wide = c("No", "Yes"), Freq = c(1072, 5122))
pop.compimp <- data.frame(comp.imp = c("No", "Yes"), Freq = c(1712, 4482))
drk <- rake(dstrat, list(~sch.wide, ~comp.imp), list(pop.schwide, pop.compimp),
            control = list(maxit = 100, epsilon = 1e-12))
show("rake weights 1..5", weights(drk)[1:5])
m <- svymean(~api00, drk); show("rake mean api00", c(coef(m), SE(m)))
p <- svymean(~awards, drk); show("rake mean awards No/Yes", c(coef(p), SE(p)))
ci <- svyciprop(~I(awards == "Yes"), drk, method = "logit")
show("rake ciprop awards Yes", c(coef(ci), SE(ci), attr(ci, "ci")))

# Lonely PSU: keep a single high school.
one <- apistrat[c(which(apistrat$stype != "H"), which(apistrat$stype == "H")[1]), ]
dl <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = one, fpc = ~fpc)
for (rule in c("remove", "certainty", "adjust", "average")) {
  options(survey.lonely.psu = rule)
  m <- svymean(~api00, dl); show(paste("lonely", rule, "mean api00"), c(coef(m), SE(m)))
  t <- svytotal(~enroll, dl); show(paste("lonely", rule, "total enroll"), c(coef(t), SE(t)))
}
options(survey.lonely.psu = "fail")
r <- try(svymean(~api00, dl), silent = TRUE); cat("lonely fail:", class(r), "\n")

# Item non-response: sch.wide missing for every 10th school, estimated as a domain (na.rm).
options(survey.lonely.psu = "fail")
gap <- apistrat
gap$sch.wide[seq(1, 200, by = 10)] <- NA
dgap <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = gap, fpc = ~fpc)
p <- svymean(~sch.wide, dgap, na.rm = TRUE); show("gap mean sch.wide No/Yes", c(coef(p), SE(p)))
