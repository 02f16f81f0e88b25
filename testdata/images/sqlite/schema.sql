CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INTEGER NOT NULL);
INSERT INTO items (name, qty) VALUES ('apple', 3), ('banana', 5), ('cherry', 7);
