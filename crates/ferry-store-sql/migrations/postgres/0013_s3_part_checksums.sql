-- S3 flexible checksums: a part's checksum (algorithm and value, as text
-- the store does not read) is kept so CompleteMultipartUpload can check the
-- checksums the client lists and build the object's composite checksum.
-- NULL for parts stored before checksums, and for parts stored without one.
ALTER TABLE s3_parts ADD COLUMN checksum TEXT;
