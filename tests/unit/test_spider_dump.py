"""MySQL dump parsing and SQLite conversion on a small inline dump."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from langgraph_slinvit.bench.task_envs.spider_sqlite import (
    build_spider_sqlite,
    parse_spider_dump,
    split_sql_statements,
)

MINI_DUMP = r"""-- TEST USER
CREATE USER 'admin'@'%' IDENTIFIED BY 'admin';
CREATE DATABASE  IF NOT EXISTS `shop` /*!40100 DEFAULT CHARACTER SET utf8mb4 */
  /*!80016 DEFAULT ENCRYPTION='N' */;
USE `shop`;
/*!40101 SET NAMES utf8 */;
DROP TABLE IF EXISTS `Items`;
CREATE TABLE `Items` (
  `id` int NOT NULL AUTO_INCREMENT,
  `Name` varchar(255) COLLATE utf8mb4_general_ci DEFAULT NULL,
  `descr` text COLLATE utf8mb4_general_ci,
  `price` decimal(19,4) DEFAULT NULL,
  `weight` float(10,2) NOT NULL DEFAULT '0.00',
  `added` datetime DEFAULT NULL,
  `code` char(3) COLLATE utf8mb4_general_ci NOT NULL DEFAULT '',
  PRIMARY KEY (`id`,`code`(2)),
  UNIQUE KEY `uq_code` (`code`),
  KEY `k_name` (`Name`)
) ENGINE=InnoDB AUTO_INCREMENT=4 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
LOCK TABLES `Items` WRITE;
INSERT INTO `Items` VALUES
  (1,'Apple ','it\'s; \"red\"\nand \\ round',1.5000,0.25,'2020-01-02 03:04:05','AAA'),
  (2,'banana','semi;colon '' quote',NULL,-1e2,NULL,'BBB'),(3,'Cherry','\0\Z\%',3,.5,NULL,'ccc');
UNLOCK TABLES;
CREATE TABLE `Orders` (
  `item_id` int NOT NULL,
  CONSTRAINT `o_fk` FOREIGN KEY (`item_id`) REFERENCES `Items` (`id`)
) ENGINE=InnoDB;
CREATE DATABASE IF NOT EXISTS `empty_db`;
USE `empty_db`;
CREATE TABLE `t` (`x` int DEFAULT NULL) ENGINE=InnoDB;
"""


def test_split_statements_respects_strings_and_comments() -> None:
    stmts = list(split_sql_statements("-- c; x\nSELECT 'a;b' ; /* k; */ SELECT \"c;\" # t;\n;"))
    assert stmts == ["SELECT 'a;b'", '/* k; */ SELECT "c;"']


def test_parse_dump() -> None:
    dump = parse_spider_dump(MINI_DUMP)
    assert list(dump.databases) == ["shop", "empty_db"]
    assert dump.row_counts() == {"shop": {"Items": 3, "Orders": 0}, "empty_db": {"t": 0}}
    items = dump.databases["shop"]["Items"]
    assert items.rows[0] == (
        1,
        "Apple ",
        'it\'s; "red"\nand \\ round',
        1.5,
        0.25,
        "2020-01-02 03:04:05",
        "AAA",
    )
    assert items.rows[1][2] == "semi;colon ' quote" and items.rows[1][4] == -100.0
    assert items.rows[2][2] == "\0\x1a\\%" and items.rows[2][3] == 3
    create = items.create_sql()
    assert '"Name" VARCHAR(255) COLLATE NOCASE DEFAULT NULL' in create
    assert '"descr" TEXT COLLATE NOCASE' in create
    assert '"price" REAL' in create and '"weight" REAL NOT NULL' in create
    assert '"added" DATETIME' in create and '"id" INTEGER NOT NULL,' in create
    assert 'PRIMARY KEY ("id","code")' in create and 'UNIQUE ("code")' in create
    assert "AUTO_INCREMENT" not in create and "ENGINE" not in create
    assert items.index_sql() == ['CREATE INDEX "Items__k_name" ON "Items" ("Name")']
    orders = dump.databases["shop"]["Orders"].create_sql()
    assert 'CONSTRAINT "o_fk" FOREIGN KEY ("item_id") REFERENCES "Items" ("id")' in orders


@pytest.fixture
def mini_data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    (d / "intercode-sql").mkdir(parents=True)
    (d / "intercode-sql" / "ic_spider_dbs.sql").write_text(MINI_DUMP, encoding="utf-8")
    return d


def test_build_sqlite_with_mysql_collation(tmp_path: Path, mini_data_dir: Path) -> None:
    out = tmp_path / "out"
    paths = build_spider_sqlite(out, mini_data_dir)
    assert set(paths) == {"shop", "empty_db"}
    conn = sqlite3.connect(paths["shop"])
    q = conn.execute
    # case-insensitive (utf8mb4_general_ci) and trailing spaces stripped (PAD SPACE)
    assert q("SELECT id FROM items WHERE name = 'APPLE'").fetchall() == [(1,)]
    assert q("SELECT name FROM Items WHERE code = 'ccc'").fetchall() == [("Cherry",)]
    assert q("SELECT name FROM Items WHERE code IN ('aaa')").fetchall() == [("Apple",)]
    assert q("SELECT name FROM Items ORDER BY name DESC").fetchall()[0] == ("Cherry",)
    assert q("SELECT count(DISTINCT code) FROM Items").fetchone() == (3,)
    assert q("SELECT price, weight FROM Items WHERE id = 3").fetchone() == (3.0, 0.5)
    assert q("SELECT count(*) FROM Orders").fetchone() == (0,)
    conn.close()


def test_build_is_cached_and_fingerprinted(tmp_path: Path, mini_data_dir: Path) -> None:
    out = tmp_path / "out"
    first = build_spider_sqlite(out, mini_data_dir)
    stamp = first["shop"].stat().st_mtime_ns
    assert build_spider_sqlite(out, mini_data_dir) == first
    assert first["shop"].stat().st_mtime_ns == stamp  # skipped
    build_spider_sqlite(out, mini_data_dir, strip_trailing_spaces=False)  # other fingerprint
    conn = sqlite3.connect(first["shop"])
    assert conn.execute("SELECT name FROM Items WHERE id = 1").fetchone() == ("Apple ",)
    conn.close()
    dump = mini_data_dir / "intercode-sql" / "ic_spider_dbs.sql"
    dump.write_text(MINI_DUMP.replace("'banana'", "'plantain'"), encoding="utf-8")
    paths = build_spider_sqlite(out, mini_data_dir)  # dump changed -> rebuilt
    conn = sqlite3.connect(paths["shop"])
    assert conn.execute("SELECT name FROM Items WHERE id = 2").fetchone() == ("plantain",)
    conn.close()


def test_missing_data_dir_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="SLINVIT_DATA_DIR"):
        build_spider_sqlite(tmp_path / "out", tmp_path / "nope")
