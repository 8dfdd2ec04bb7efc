"""The paper's tables and figures, built once and shown alike by the pages, the HTML report and the XLSX.

`style` holds the colour-blind-safe palette and the one number formatter; `figures` the plotly figure
builders; `tables` the paper-style tables (Table 1-3) as DataFrames; `html` and `xlsx` the exports.
"""
