"""Statistics of the paper's analysis: Table 1, Spearman, logistic regression, ROC/DeLong, ICC, matching."""
