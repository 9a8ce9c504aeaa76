-- The application's own database, beside Temporal's (created by temporal-admin-tools).
CREATE DATABASE gigcover OWNER temporal;
