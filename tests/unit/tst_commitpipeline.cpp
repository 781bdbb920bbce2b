// The commit pipeline (server/commitpipeline.h), the one owner of "nothing leaves before it is
// durable", in-process on a real SQLite store: a write opens a batch that closes the gate, the
// next event-loop turn commits it and opens the gate again, and a commit that fails is reported
// once and opens nothing. What waits behind the gate (the connections' frames) is checked with
// real processes by tst_durability and tst_crash_recovery.
#include "testsupport.h"

#include "server/commitpipeline.h"
#include "store/store.h"

#include <QRegularExpression>
#include <QSignalSpy>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace Swamp;

class tst_CommitPipeline : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();
    void aWriteClosesTheGateUntilItIsDurable();
    void commitNowWaits();
    void aFailedCommitIsReportedOnceAndReleasesNothing();

private:
    // Rows of `table` as another connection to the database file sees them: only what is committed.
    int committedRows(const QString &table);

    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<Store> m_store;
    std::unique_ptr<CommitPipeline> m_pipeline;
};

void tst_CommitPipeline::init()
{
    QTest::failOnWarning(QRegularExpression(u".*"_s));
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
    auto store = Store::open(m_dir->filePath(u"swamp.db"_s));
    QVERIFY2(store, qPrintable(store ? QString() : store.error().message));
    m_store = std::move(*store);
    // A foreign key checked at commit: the one failure of a COMMIT a test can cause at will.
    QVERIFY(m_store->execute(u"PRAGMA foreign_keys = ON"_s));
    QVERIFY(m_store->execute(u"CREATE TABLE parent (id INTEGER PRIMARY KEY)"_s));
    QVERIFY(m_store->execute(
        u"CREATE TABLE child (parent INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)"_s));
    m_pipeline = std::make_unique<CommitPipeline>(*m_store);
}

void tst_CommitPipeline::cleanup()
{
    m_pipeline.reset();
    m_store.reset();
    QSqlDatabase::removeDatabase(u"tst_commitpipeline_reader"_s);
    m_dir.reset();
}

int tst_CommitPipeline::committedRows(const QString &table)
{
    int rows = -1;
    {
        QSqlDatabase reader = QSqlDatabase::contains(u"tst_commitpipeline_reader"_s)
                                  ? QSqlDatabase::database(u"tst_commitpipeline_reader"_s)
                                  : QSqlDatabase::addDatabase(u"QSQLITE"_s, u"tst_commitpipeline_reader"_s);
        reader.setDatabaseName(m_dir->filePath(u"swamp.db"_s));
        if (!reader.isOpen() && !reader.open())
            return -1;
        QSqlQuery query(reader);
        if (query.exec(u"SELECT COUNT(*) FROM "_s + table) && query.next())
            rows = query.value(0).toInt();
    }
    return rows;
}

void tst_CommitPipeline::aWriteClosesTheGateUntilItIsDurable()
{
    QVERIFY(!m_pipeline->gate()->isClosed());
    QVERIFY(m_store->execute(u"INSERT INTO parent (id) VALUES (1)"_s));
    QVERIFY(m_pipeline->gate()->isClosed()); // a frame sent now would wait
    QCOMPARE(committedRows(u"parent"_s), 0);
    QTRY_VERIFY(!m_pipeline->gate()->isClosed()); // the next turns: sealed, committed, released
    QCOMPARE(committedRows(u"parent"_s), 1);
    QVERIFY(!m_pipeline->hasFailed());
}

void tst_CommitPipeline::commitNowWaits()
{
    QVERIFY(m_store->execute(u"INSERT INTO parent (id) VALUES (2)"_s));
    m_pipeline->commitNow();
    QCOMPARE(committedRows(u"parent"_s), 1);
    QVERIFY(!m_pipeline->gate()->isClosed());
}

void tst_CommitPipeline::aFailedCommitIsReportedOnceAndReleasesNothing()
{
    QSignalSpy failed(m_pipeline.get(), &CommitPipeline::failed);
    QVERIFY(m_store->execute(u"INSERT INTO child (parent) VALUES (42)"_s)); // no parent 42
    QTRY_COMPARE(failed.size(), 1);
    QVERIFY(m_pipeline->hasFailed());
    QVERIFY(!failed.first().first().value<Error>().message.isEmpty());
    QCOMPARE(committedRows(u"child"_s), 0);
    // A later batch that fails is not reported again: the orchestrator is stopping already.
    QVERIFY(m_store->execute(u"INSERT INTO child (parent) VALUES (43)"_s));
    m_pipeline->commitNow(); // commits (and reports) before it returns
    QCoreApplication::processEvents(); // and the commit the batch had posted finds nothing to do
    QCOMPARE(failed.size(), 1);
}

QTEST_GUILESS_MAIN(tst_CommitPipeline)
#include "tst_commitpipeline.moc"
