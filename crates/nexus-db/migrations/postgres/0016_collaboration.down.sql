DROP TABLE collaboration_blocks;
DROP TABLE collaborations;
DROP TABLE collaboration_profiles;
