-- Volume uploads (a DICOM series, NIfTI, a TIFF stack, a ZIP of slices, raw samples): what was
-- found when the upload was checked, as JSON (dims, spacing, value range, histogram, the DICOM
-- series in it, and a raw file's dims and sample type). NULL for images. No patient attribute
-- is ever stored: only geometry, values and the series' own UID, number and description.
ALTER TABLE uploads ADD COLUMN volume TEXT;
