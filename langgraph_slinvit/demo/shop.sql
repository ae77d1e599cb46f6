-- The project's own small example database: a shop with customers, products and orders.
CREATE TABLE customers (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  city TEXT NOT NULL,
  joined DATE NOT NULL
);
CREATE TABLE products (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  category TEXT NOT NULL,
  price REAL NOT NULL
);
CREATE TABLE orders (
  id INTEGER PRIMARY KEY,
  customer_id INTEGER NOT NULL REFERENCES customers(id),
  order_date DATE NOT NULL
);
CREATE TABLE order_items (
  order_id INTEGER NOT NULL REFERENCES orders(id),
  product_id INTEGER NOT NULL REFERENCES products(id),
  quantity INTEGER NOT NULL
);
INSERT INTO customers VALUES
  (1, 'Ada Lovelace', 'London', '2024-01-15'),
  (2, 'Alan Turing', 'Manchester', '2024-02-03'),
  (3, 'Grace Hopper', 'New York', '2024-02-20'),
  (4, 'Edsger Dijkstra', 'Amsterdam', '2024-03-11'),
  (5, 'Barbara Liskov', 'Boston', '2024-04-02'),
  (6, 'Donald Knuth', 'Stanford', '2024-05-19'),
  (7, 'Margaret Hamilton', 'Boston', '2024-06-07');
INSERT INTO products VALUES
  (1, 'Mechanical keyboard', 'hardware', 89.0),
  (2, 'Trackball mouse', 'hardware', 45.5),
  (3, '27-inch monitor', 'hardware', 219.0),
  (4, 'The Art of Computer Programming', 'books', 189.99),
  (5, 'Structure and Interpretation of Computer Programs', 'books', 55.0),
  (6, 'Standing desk', 'furniture', 399.0),
  (7, 'Desk lamp', 'furniture', 29.9);
INSERT INTO orders VALUES
  (1, 1, '2024-03-01'), (2, 1, '2024-04-12'), (3, 2, '2024-04-15'), (4, 3, '2024-05-02'),
  (5, 3, '2024-06-21'), (6, 3, '2024-07-30'), (7, 5, '2024-08-08'), (8, 6, '2024-09-14');
INSERT INTO order_items VALUES
  (1, 1, 1), (1, 7, 2), (2, 4, 1), (3, 5, 1), (3, 2, 1), (4, 3, 2), (5, 6, 1),
  (6, 1, 1), (6, 2, 1), (7, 5, 3), (8, 4, 1), (8, 7, 1);
