DROP TABLE data_key_rotation;
