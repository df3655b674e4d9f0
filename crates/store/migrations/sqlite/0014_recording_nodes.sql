-- The node whose disk holds a recording's files: in a cluster, any node serves its manifest, files
-- and compositions by carrying the request to that node. NULL for recordings made before (served
-- by whichever node has the folder).
ALTER TABLE recordings ADD COLUMN node_id TEXT;
