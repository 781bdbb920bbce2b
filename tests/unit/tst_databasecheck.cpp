// The checks `swamp serve` runs on its SQLite file before it opens it for writing
// (store/databasecheck.h): which files count as backups, the time bound of PRAGMA quick_check, and
// the refusals. The real binary's messages are checked in tests/integration/tst_damaged_database.
#include "sqlitefiles.h"
#include "testsupport.h"

#include "store/databasecheck.h"
#include "store/store.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QRegularExpression>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace Swamp;

class tst_DatabaseCheck : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void newDataDir();
    void emptyFileOfNewDataDir();
    void backupsNewestFirst();
    void refusals_data();
    void refusals();
    void healthyDatabasePasses();
    void quickCheckCutShort();
    void damageFound();

private:
    // A swamp database at `path` with `rows` rows of 200 bytes in a table of their own.
    void createDatabase(const QString &path, int rows);
    QTemporaryDir m_dir;
    QString m_db;
};

namespace {
void writeFile(const QString &path, const QByteArray &bytes, const QDateTime &modified = {})
{
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
    QCOMPARE(file.write(bytes), bytes.size());
    if (modified.isValid())
        QVERIFY(file.setFileTime(modified, QFileDevice::FileModificationTime));
}

QByteArray hashOf(const QString &path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly)
               ? QCryptographicHash::hash(file.readAll(), QCryptographicHash::Sha256)
               : QByteArray();
}
} // namespace

void tst_DatabaseCheck::init()
{
    QTest::failOnWarning(QRegularExpression(u".*"_s));
    const QStringList entries = QDir(m_dir.path()).entryList(QDir::Files | QDir::Hidden);
    for (const QString &entry : entries)
        QVERIFY(QFile::remove(m_dir.filePath(entry)));
    m_db = m_dir.filePath(u"swamp.db"_s);
}

void tst_DatabaseCheck::createDatabase(const QString &path, int rows)
{
    {
        auto store = Store::open(path);
        QVERIFY_RESULT(store);
    }
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(u"QSQLITE"_s, u"fill"_s);
        db.setDatabaseName(path);
        QVERIFY(db.open());
        QSqlQuery query(db);
        QVERIFY2(query.exec(u"CREATE TABLE filler (id INTEGER PRIMARY KEY, text TEXT)"_s),
                 qPrintable(query.lastError().text()));
        QVERIFY(db.transaction());
        QVERIFY(query.prepare(u"INSERT INTO filler (text) VALUES (?)"_s));
        for (int i = 0; i < rows; ++i) {
            query.bindValue(0, QString(200, QChar(u'a' + i % 26)));
            QVERIFY2(query.exec(), qPrintable(query.lastError().text()));
        }
        QVERIFY(db.commit());
        query.finish();
        db.close();
    }
    QSqlDatabase::removeDatabase(u"fill"_s);
    QVERIFY(!QFile::exists(path + u"-wal"_s) || QFileInfo(path + u"-wal"_s).size() == 0);
}

void tst_DatabaseCheck::newDataDir()
{
    auto checked = checkDataDirDatabase(m_dir.path(), m_db);
    QVERIFY_RESULT(checked);
    QVERIFY(!checked->exists);
    QVERIFY(checked->warning.isEmpty());
    QVERIFY(!QFile::exists(m_db)); // the check creates nothing
}

void tst_DatabaseCheck::emptyFileOfNewDataDir()
{
    // Nothing shows that a database was ever there: an empty file is a new database.
    writeFile(m_db, {});
    auto checked = checkDataDirDatabase(m_dir.path(), m_db);
    QVERIFY_RESULT(checked);
    QVERIFY(!checked->exists);
}

void tst_DatabaseCheck::backupsNewestFirst()
{
    createDatabase(m_db, 10);
    const QDateTime now = QDateTime::currentDateTimeUtc();
    const QString older = m_dir.filePath(u"swamp.db.schema3.bak"_s);
    const QString newer = m_dir.filePath(u"nightly.db"_s);
    QVERIFY(QFile::copy(m_db, older));
    QVERIFY(QFile::copy(m_db, newer));
    {
        QFile file(older);
        QVERIFY(file.open(QIODevice::ReadWrite));
        QVERIFY(file.setFileTime(now.addDays(-30), QFileDevice::FileModificationTime));
        QFile other(newer);
        QVERIFY(other.open(QIODevice::ReadWrite));
        QVERIFY(other.setFileTime(now.addDays(-1), QFileDevice::FileModificationTime));
    }
    // Not backups: the database's own files, other files, a copy cut short (hidden).
    writeFile(m_db + u"-wal"_s, "SQLite format 3"_ba + '\0');
    writeFile(m_dir.filePath(u"admin.json"_s), "{}");
    writeFile(m_dir.filePath(u"notes.txt"_s), "SQLite format 2 is not a thing");
    QVERIFY(QFile::copy(m_db, m_dir.filePath(u".nightly.db.Ab12Cd.partial"_s)));

    const QList<DatabaseBackup> found = findDatabaseBackups(m_dir.path(), m_db);
    QCOMPARE(found.size(), 2);
    QCOMPARE(found.at(0).path, QFileInfo(newer).absoluteFilePath());
    QCOMPARE(found.at(1).path, QFileInfo(older).absoluteFilePath());
    QCOMPARE(found.at(0).modified.toSecsSinceEpoch(), now.addDays(-1).toSecsSinceEpoch());
}

void tst_DatabaseCheck::refusals_data()
{
    QTest::addColumn<QString>("damage");
    QTest::addColumn<bool>("adminJson");
    QTest::addColumn<QString>("code");
    QTest::addRow("missing") << u"missing"_s << true << u"database_missing"_s;
    QTest::addRow("empty") << u"empty"_s << true << u"database_empty"_s;
    QTest::addRow("no-schema") << u"no-schema"_s << true << u"database_empty"_s;
    QTest::addRow("missing-but-a-backup") << u"missing"_s << false << u"database_missing"_s;
    QTest::addRow("text-file") << u"text"_s << false << u"not_a_database"_s;
    QTest::addRow("short-file") << u"short"_s << false << u"not_a_database"_s;
}

void tst_DatabaseCheck::refusals()
{
    QFETCH(QString, damage);
    QFETCH(bool, adminJson);
    QFETCH(QString, code);
    if (adminJson)
        writeFile(m_dir.filePath(u"admin.json"_s), "{}");
    else if (damage == u"missing")
        createDatabase(m_dir.filePath(u"swamp.db.schema2.bak"_s), 1);
    if (damage == u"empty") {
        writeFile(m_db, {});
    } else if (damage == u"no-schema") {
        const QString problem = SwampTest::executeSql(m_db, u"CREATE TABLE notes (text TEXT)"_s);
        QVERIFY2(problem.isEmpty(), qPrintable(problem));
    } else if (damage == u"text") {
        writeFile(m_db, QByteArray("this is not a database\n").repeated(1000));
    } else if (damage == u"short") {
        writeFile(m_db, "SQLite");
    }
    const QByteArray before = hashOf(m_db);
    auto checked = checkDataDirDatabase(m_dir.path(), m_db);
    QVERIFY_ERROR_CODE(checked, code);
    QVERIFY2(checked.error().message.endsWith(u"; nothing was changed"_s),
             qPrintable(checked.error().message));
    QVERIFY2(checked.error().fix.contains(
                 u"start over with an empty database by moving %1 away"_s.arg(m_dir.path())),
             qPrintable(checked.error().fix));
    QCOMPARE(hashOf(m_db), before);
    QCOMPARE(QFile::exists(m_db), damage != u"missing");
}

void tst_DatabaseCheck::healthyDatabasePasses()
{
    createDatabase(m_db, 100);
    writeFile(m_dir.filePath(u"admin.json"_s), "{}");
    auto checked = checkDataDirDatabase(m_dir.path(), m_db);
    QVERIFY_RESULT(checked);
    QVERIFY(checked->exists);
    QVERIFY(checked->quickCheck.complete);
    QVERIFY(checked->quickCheck.problems.isEmpty());
    QVERIFY(checked->warning.isEmpty());
}

void tst_DatabaseCheck::quickCheckCutShort()
{
    // About 5 MB: quick_check takes milliseconds, far beyond a 1 ms bound.
    createDatabase(m_db, 20000);
    auto checked = checkDataDirDatabase(m_dir.path(), m_db, 1);
    QVERIFY_RESULT(checked);
    QVERIFY(checked->exists);
    QVERIFY(!checked->quickCheck.complete);
    const QRegularExpression warning(
        u"^the integrity check of %1 \\(PRAGMA quick_check\\) was cut short after \\d+\\.\\d s, before it had read the whole file; serving without it — 'swamp backup <file>' reads and checks all of it while swamp serve runs$"_s
            .arg(QRegularExpression::escape(m_db)));
    QVERIFY2(warning.match(checked->warning).hasMatch(), qPrintable(checked->warning));
    // Without a bound it completes.
    auto unbounded = checkDataDirDatabase(m_dir.path(), m_db, 0);
    QVERIFY_RESULT(unbounded);
    QVERIFY(unbounded->quickCheck.complete);
    QVERIFY(unbounded->warning.isEmpty());
}

void tst_DatabaseCheck::damageFound()
{
    createDatabase(m_db, 5000);
    const QString damaged = SwampTest::invertMiddlePage(m_db);
    QVERIFY2(damaged.isEmpty(), qPrintable(damaged));
    auto checked = checkDataDirDatabase(m_dir.path(), m_db);
    QVERIFY_ERROR_CODE(checked, u"database_corrupt"_s);
    QVERIFY2(checked.error().message.startsWith(u"the database %1 is damaged ("_s.arg(m_db)),
             qPrintable(checked.error().message));
    QVERIFY(!checked.error().details.value(u"problems"_s).toArray().isEmpty());
    // No admin.json and no backup: the fix says none was found.
    QVERIFY2(
        checked.error().fix.startsWith(
            u"no backup was found in %1: move %2 aside and restore one taken with 'swamp backup'"_s
                .arg(m_dir.path(), m_db)),
        qPrintable(checked.error().fix));
}

QTEST_GUILESS_MAIN(tst_DatabaseCheck)
#include "tst_databasecheck.moc"
