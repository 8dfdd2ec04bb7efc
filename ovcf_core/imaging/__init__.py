"""DICOM series loading and ROI measurement: CT HU, MR T1 SI -> VBQ, MR T2 fat -> FI, CSA -> rCSA."""
