// `swamp serve --database postgresql://...` end to end against a real PostgreSQL server (see
// tests/support/pgserver.h): a worker enrolls, a step runs, `swamp data query` reads it back, the
// state is in PostgreSQL and survives a restart; SWAMP_DATABASE_URL and ~/.pgpass work; a wrong
// password, a missing database or an unreachable server fail with the host and the fix. The
// password never appears in any output.

#include "integration/postgresharness.h"
#include "steps/stephelpers.h"

#include <QDir>
#include <QScopeGuard>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QTcpServer>
#include <QUrl>

#include <csignal>

using namespace SwampTest;

namespace {
int unusedPort()
{
    QTcpServer probe;
    return probe.listen(QHostAddress::LocalHost, 0) ? probe.serverPort() : 0;
}
} // namespace

class tst_PostgresServe : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanup();
    void servesStepsFromPostgres();
    void databaseRestartLosesNoStep();
    void outputAndResultsDuringAnOutageAreStoredOnce();
    void aCommitWhoseAnswerIsLostIsNotAppliedTwice();
    void secondServeOnSameDataDirRefused();
    void databaseUrlFromEnvironment();
    void passwordFromPgpass();
    void passwordInUrlNeverShown();
    void connectionErrors_data();
    void connectionErrors();

private:
    // Rows of `table` in the database of `url`, read with the test role's own connection.
    int rowCount(const QString &url, const QString &table);
    void verifyNoPassword(const QString &text, const QString &where);
    // An orchestrator on a new database, its password in PGPASSWORD; the database's URL, or empty.
    QString startOnNewDatabase();

    PostgresServer m_postgres;
    std::unique_ptr<Harness> m_h;
};

void tst_PostgresServe::initTestCase()
{
    SWAMP_START_POSTGRES(m_postgres);
}

void tst_PostgresServe::init()
{
    m_h = std::make_unique<Harness>();
}

void tst_PostgresServe::cleanup()
{
    m_h.reset();
}

int tst_PostgresServe::rowCount(const QString &url, const QString &table)
{
    const QString name = u"tst-postgres-serve-count"_s;
    int count = -1;
    {
        const QUrl parsed(url);
        QSqlDatabase db = QSqlDatabase::addDatabase(u"QPSQL"_s, name);
        db.setHostName(parsed.host());
        db.setPort(parsed.port());
        db.setDatabaseName(parsed.path().mid(1));
        db.setUserName(parsed.userName());
        db.setPassword(m_postgres.password());
        if (db.open()) {
            QSqlQuery query(db);
            if (query.exec(u"SELECT COUNT(*) FROM "_s + table) && query.next())
                count = query.value(0).toInt();
            else
                qWarning("counting %s failed: %s", qPrintable(table), qPrintable(query.lastError().text()));
        } else {
            qWarning("cannot connect to %s: %s", qPrintable(url), qPrintable(db.lastError().text()));
        }
    }
    QSqlDatabase::removeDatabase(name);
    return count;
}

QString tst_PostgresServe::startOnNewDatabase()
{
    return SwampTest::startOnNewDatabase(*m_h, m_postgres);
}

void tst_PostgresServe::verifyNoPassword(const QString &text, const QString &where)
{
    QVERIFY2(!text.contains(m_postgres.password()), qPrintable(u"the password appears in "_s + where));
}

void tst_PostgresServe::servesStepsFromPostgres()
{
    const QString url = startOnNewDatabase();
    QVERIFY(!url.isEmpty());
    verifyNoPassword(m_h->orchestratorOutput(), u"the Listening line"_s);

    const QString token = m_h->createToken(u"pool"_s, {u"--max-enrollments"_s, u"unlimited"_s});
    QVERIFY(!token.isEmpty());
    Child *worker = m_h->startEnrolledWorker(token, m_h->newCacheDir());
    QVERIFY(worker);
    const Run run = m_h->cli({u"run"_s, u"--"_s, u"true"_s});
    QCOMPARE_EXIT(run, 0);
    QVERIFY2(run.err.contains(u"dispatched to pool-"_s), qPrintable(run.describe()));

    const QJsonArray steps = query(*m_h, u"modelType == \"swamp/step\""_s);
    QCOMPARE(steps.size(), 1);
    const QJsonObject step = steps.first().toObject().value(u"attributes"_s).toObject();
    QCOMPARE(step.value(u"state"_s).toString(), u"succeeded"_s);
    QCOMPARE(step.value(u"exitCode"_s).toInt(-1), 0);
    // Conditions the query service hands to SQL: integer and text columns, matching or not.
    QCOMPARE(query(*m_h, u"modelType == \"swamp/step\" && attributes.exitCode == 0"_s).size(), 1);
    QCOMPARE(query(*m_h, u"modelType == \"swamp/step\" && attributes.exitCode == 3"_s).size(), 0);
    QCOMPARE(query(*m_h, u"modelType == \"swamp/step-lease\" && attributes.state == \"completed\""_s).size(), 1);
    QCOMPARE(query(*m_h, u"modelType == \"swamp/run\""_s).size(), 1);
    // Ids by prefix (across a dash: the range must not depend on the collation), by short id,
    // never by a wildcard (issue 21).
    const QString stepId = steps.first().toObject().value(u"id"_s).toString();
    for (const QString &typed : {stepId.left(20), stepId.right(8), stepId}) {
        const Run status = m_h->cli({u"run"_s, u"status"_s, typed, u"--json"_s});
        QCOMPARE_EXIT(status, 0);
        QCOMPARE(status.json().value(u"steps"_s).toArray().first().toObject().value(u"id"_s).toString(), stepId);
    }
    const Run wildcard = m_h->cli({u"run"_s, u"status"_s, stepId.left(4) + u"%"_s});
    QCOMPARE_EXIT(wildcard, 1);
    QVERIFY2(wildcard.err.startsWith(u"error: no step or run with id"_s), qPrintable(wildcard.describe()));

    // The state is in PostgreSQL, not in a SQLite file in the data dir.
    QCOMPARE(rowCount(url, u"steps"_s), 1);
    QCOMPARE(rowCount(url, u"workers"_s), 1);
    QCOMPARE(rowCount(url, u"enrollment_tokens"_s), 1);
    QVERIFY(!QFile::exists(m_h->dataDir() + u"/swamp.db"_s));

    const Run workers = m_h->cli({u"worker"_s, u"list"_s, u"--all"_s});
    QCOMPARE_EXIT(workers, 0);
    QVERIFY2(workers.out.contains(Harness::enrolledName(worker)), qPrintable(workers.describe()));
    verifyNoPassword(workers.out + workers.err, u"swamp worker list"_s);
    verifyNoPassword(run.out + run.err, u"swamp run"_s);

    // Restarted on the same database, the orchestrator knows the worker and the step.
    QVERIFY(m_h->stopOrchestrator());
    QCOMPARE(m_h->orchestrator()->exitCode(), 0);
    verifyNoPassword(m_h->orchestratorOutput(), u"the orchestrator's output"_s);
    QVERIFY(m_h->startOrchestrator(0, {u"--database"_s, url}));
    QCOMPARE(m_h->workerStatus(Harness::enrolledName(worker)), u"disconnected"_s);
    QCOMPARE(query(*m_h, u"modelType == \"swamp/step\" && attributes.state == \"succeeded\""_s).size(), 1);
    verifyNoPassword(m_h->orchestratorOutput(), u"the orchestrator's output"_s);
    verifyNoPassword(worker->output(), u"the worker's output"_s);
    // Nothing from the server (notices) or the driver (warnings) in the orchestrator's output.
    QVERIFY2(!m_h->orchestratorOutput().contains(u"NOTICE"_s), qPrintable(m_h->orchestratorOutput()));
    QVERIFY2(!m_h->orchestratorOutput().contains(u"QPSQL"_s), qPrintable(m_h->orchestratorOutput()));
}

// PostgreSQL restarts (pg_ctl restart -m fast) while steps run: the orchestrator keeps its
// sockets, says once that the database is gone and once that it is back, and every step ends
// once, on its first attempt, with one completed lease, its command run once.
void tst_PostgresServe::databaseRestartLosesNoStep()
{
    const QString url = startOnNewDatabase();
    QVERIFY(!url.isEmpty());
    const qint64 pid = m_h->orchestrator()->pid();
    const QString token = m_h->createToken(u"pool"_s, {u"--max-enrollments"_s, u"unlimited"_s});
    QVERIFY(!token.isEmpty());
    QVERIFY(m_h->startEnrolledWorker(token, m_h->newCacheDir(), {}, {u"--concurrency"_s, u"4"_s}));

    const QString ran = QDir(m_h->dataDir()).filePath(u"../ran.txt"_s);
    QStringList stepIds;
    auto submit = [&](int n) {
        const QString id = detach(*m_h, {u"--"_s, u"sh"_s, u"-c"_s, u"sleep 0.2; echo %1 >> '%2'"_s.arg(n).arg(ran)});
        QVERIFY(!id.isEmpty());
        stepIds << id;
    };
    for (int n = 0; n < 12; ++n)
        submit(n);
    QTRY_VERIFY_WITH_TIMEOUT(total(*m_h, u"modelType == \"swamp/step\" && attributes.state == \"succeeded\""_s) >= 2, 30000);
    QVERIFY2(m_postgres.restart(), qPrintable(m_postgres.errorString()));
    for (int n = 12; n < 20; ++n)
        submit(n);

    const QString succeeded = u"modelType == \"swamp/step\" && attributes.state == \"succeeded\""_s;
    QTRY_COMPARE_WITH_TIMEOUT(total(*m_h, succeeded), 20, 60000);
    QCOMPARE(m_h->orchestrator()->pid(), pid);
    QCOMPARE(total(*m_h, u"modelType == \"swamp/step\" && attributes.attempt == 1"_s), 20);
    QCOMPARE(total(*m_h, u"modelType == \"swamp/step-lease\""_s), 20);
    QCOMPARE(total(*m_h, u"modelType == \"swamp/step-lease\" && attributes.state == \"completed\""_s), 20);
    QFile file(ran);
    QVERIFY(file.open(QIODevice::ReadOnly));
    QStringList lines = QString::fromUtf8(file.readAll()).split(u'\n', Qt::SkipEmptyParts);
    lines.sort();
    QCOMPARE(lines.size(), 20);
    lines.removeDuplicates();
    QCOMPARE(lines.size(), 20); // each command ran once
    const QString output = m_h->orchestratorOutput();
    QVERIFY2(output.count(u"connection to PostgreSQL is lost"_s) == 1, qPrintable(output));
    QCOMPARE(output.count(u"connection to PostgreSQL is back"_s), 1);
    QVERIFY2(!output.contains(u"statement failed"_s), qPrintable(output));
    verifyNoPassword(output, u"the orchestrator's output"_s);
}

// PostgreSQL is down while one step streams output and another ends. The
// orchestrator could not store what the worker sent meanwhile; it asks the worker (still
// connected) to send it again once the database is back: every line is stored once, in order,
// and the step that ended during the outage ends, without the worker reconnecting.
void tst_PostgresServe::outputAndResultsDuringAnOutageAreStoredOnce()
{
    const QString url = startOnNewDatabase();
    QVERIFY(!url.isEmpty());
    const QString token = m_h->createToken(u"pool"_s);
    QVERIFY(!token.isEmpty());
    Child *worker = m_h->startEnrolledWorker(token, m_h->newCacheDir(), {}, {u"--concurrency"_s, u"2"_s});
    QVERIFY(worker);

    const int lines = 60;
    const QString streaming = detach(*m_h, {u"--"_s, u"sh"_s, u"-c"_s,
                                            u"i=0; while [ $i -lt %1 ]; do i=$((i+1)); echo line$i; sleep 0.1; done"_s.arg(lines)});
    const QString ending = detach(*m_h, {u"--"_s, u"sh"_s, u"-c"_s, u"sleep 2.5; echo ended"_s});
    QVERIFY(!streaming.isEmpty() && !ending.isEmpty());
    QTRY_COMPARE_WITH_TIMEOUT(total(*m_h, u"modelType == \"swamp/step\" && attributes.state == \"running\""_s), 2, 30000);
    // Down until the worker has sent the ending step's result and the orchestrator knows the
    // database is gone; the other step streams on meanwhile.
    QVERIFY2(m_postgres.shutDown(), qPrintable(m_postgres.errorString()));
    QTRY_VERIFY_WITH_TIMEOUT(worker->outContains(u"step finished: sh (step %1)"_s.arg(ending.right(8)))
                                 && m_h->orchestratorOutput().contains(u"connection to PostgreSQL is lost"_s),
                             30000);
    QVERIFY2(m_postgres.startAgain(), qPrintable(m_postgres.errorString()));

    const QString succeeded = u"modelType == \"swamp/step\" && attributes.state == \"succeeded\""_s;
    QTRY_COMPARE_WITH_TIMEOUT(total(*m_h, succeeded), 2, 60000);
    const Run logs = m_h->cli({u"run"_s, u"logs"_s, streaming});
    QCOMPARE_EXIT(logs, 0);
    QStringList expected;
    for (int n = 1; n <= lines; ++n)
        expected << u"line%1"_s.arg(n);
    QStringList stored = logs.out.split(u'\n', Qt::SkipEmptyParts);
    stored.removeIf([](const QString &line) { return !line.startsWith(u"line"_s); });
    QCOMPARE(stored, expected);
    const Run ended = m_h->cli({u"run"_s, u"logs"_s, ending});
    QCOMPARE(ended.out.count(u"ended"_s), 1);
    QCOMPARE(total(*m_h, u"modelType == \"swamp/step-lease\" && attributes.state == \"completed\""_s), 2);
    QVERIFY2(!worker->output().contains(u"reconnecting"_s), qPrintable(worker->output()));
}

// The connection drops while COMMIT is in flight, after the server made the batch durable: the
// orchestrator cannot tell from the error whether its changes were applied. (Replaying them found
// its own rows changed and it stopped, exit 1: about one failover in eight, issue 20.) Made
// deterministic with PostgreSQL's own machinery: with a synchronous standby that never answers,
// COMMIT writes its record locally and waits; killing that session's process then drops the answer of
// a commit that did happen, as when the server's machine dies between writing the commit and
// answering it.
void tst_PostgresServe::aCommitWhoseAnswerIsLostIsNotAppliedTwice()
{
    const QString url = startOnNewDatabase();
    QVERIFY(!url.isEmpty());
    const qint64 pid = m_h->orchestrator()->pid();
    const QString token = m_h->createToken(u"pool"_s);
    QVERIFY(!token.isEmpty());
    QVERIFY(m_h->startEnrolledWorker(token, m_h->newCacheDir()));

    const auto waitForStandby = [this](bool wait) {
        const char *set = "ALTER SYSTEM SET synchronous_commit = on;\n"
                          "ALTER SYSTEM SET synchronous_standby_names = 'nobody';\n";
        const char *reset = "ALTER SYSTEM RESET synchronous_commit;\n"
                            "ALTER SYSTEM RESET synchronous_standby_names;\n";
        return m_postgres.adminSql(QLatin1String(wait ? set : reset) + u"SELECT pg_reload_conf();"_s);
    };
    auto reset = qScopeGuard([&] { waitForStandby(false); });
    QVERIFY2(waitForStandby(true), qPrintable(m_postgres.errorString()));
    QProcess submit;
    QProcessEnvironment env = Harness::baseEnvironment();
    env.insert(u"SWAMP_DATA_DIR"_s, m_h->dataDir());
    submit.setProcessEnvironment(env);
    submit.start(swampBinary(), {u"run"_s, u"--detach"_s, u"--name"_s, u"once"_s, u"--"_s, u"true"_s});
    const QString database = QUrl(url).path().mid(1);
    const QString waiting = u"SELECT count(*) FROM pg_stat_activity WHERE datname = '%1' AND wait_event = 'SyncRep'"_s.arg(database);
    QTRY_VERIFY_WITH_TIMEOUT(m_postgres.adminValue(waiting).value_or(u"0"_s).toInt() >= 1, 30000);
    // Killed, not terminated (a terminated session still answers that COMMIT): the server
    // restarts every session and recovers the commit from its log; the answer never leaves it.
    const auto backend = m_postgres.adminValue(u"SELECT pid FROM pg_stat_activity WHERE wait_event = 'SyncRep' LIMIT 1"_s);
    QVERIFY2(backend && backend->toInt() > 0, qPrintable(m_postgres.errorString()));
    QCOMPARE(::kill(pid_t(backend->toInt()), SIGKILL), 0);
    QTRY_VERIFY_WITH_TIMEOUT(waitForStandby(false), 30000);
    reset.dismiss();

    QTRY_VERIFY_WITH_TIMEOUT(submit.state() == QProcess::NotRunning, 60000);
    QVERIFY2(submit.exitCode() == 0, submit.readAllStandardError().constData());
    QTRY_COMPARE_WITH_TIMEOUT(total(*m_h, u"modelType == \"swamp/step\" && attributes.state == \"succeeded\""_s), 1, 30000);
    QCOMPARE(total(*m_h, u"modelType == \"swamp/run\""_s), 1);
    QCOMPARE(m_h->orchestrator()->pid(), pid);
    QVERIFY(m_h->orchestrator()->isRunning());
    const QString output = m_h->orchestratorOutput();
    QVERIFY2(!output.contains(u"the database changed while this orchestrator held its changes"_s), qPrintable(output));
    QVERIFY2(output.contains(u"was applied"_s), qPrintable(output.right(800)));
}

void tst_PostgresServe::secondServeOnSameDataDirRefused()
{
    // The data dir (admin.json) is locked with PostgreSQL too: a fleet's orchestrators share the
    // database, each with a data dir of its own.
    const QString url = startOnNewDatabase();
    QVERIFY(!url.isEmpty());
    QFile adminJson(m_h->dataDir() + u"/admin.json"_s);
    QVERIFY(adminJson.open(QIODevice::ReadOnly));
    const QByteArray adminBefore = adminJson.readAll();
    adminJson.close();
    QCOMPARE(rowCount(url, u"orchestrators"_s), 1);

    QProcessEnvironment env = environmentWithoutPg();
    env.insert(u"PGPASSWORD"_s, m_postgres.password());
    const Run second = m_h->cli({u"serve"_s, u"--listen"_s, u"127.0.0.1:0"_s, u"--data-dir"_s,
                                 m_h->dataDir(), u"--database"_s, url},
                                swampBinary(), env);
    QCOMPARE_EXIT(second, 1);
    QCOMPARE(second.err,
             u"error: data dir %1 is in use by swamp serve (pid %2) — stop that orchestrator "
             "first, or give this one its own --data-dir\n"_s.arg(QDir(m_h->dataDir()).absolutePath())
                 .arg(m_h->orchestrator()->pid()));
    QVERIFY(adminJson.open(QIODevice::ReadOnly));
    QCOMPARE(adminJson.readAll(), adminBefore);
    QCOMPARE(rowCount(url, u"orchestrators"_s), 1);
    QVERIFY(m_h->orchestrator()->isRunning());
    QVERIFY(!m_h->createToken(u"after"_s).isEmpty());
}

void tst_PostgresServe::databaseUrlFromEnvironment()
{
    const QString url = m_postgres.createDatabase();
    QVERIFY2(!url.isEmpty(), qPrintable(m_postgres.errorString()));
    QProcessEnvironment env = environmentWithoutPg();
    env.insert(u"PGPASSWORD"_s, m_postgres.password());
    // libpq options ride along as query items.
    env.insert(u"SWAMP_DATABASE_URL"_s, url + u"?application_name=swamp_from_env&connect_timeout=5"_s);
    m_h->setOrchestratorEnvironment(env);
    QVERIFY(m_h->startOrchestrator());
    QVERIFY(!m_h->createToken(u"from-env"_s).isEmpty());
    QCOMPARE(rowCount(url, u"enrollment_tokens"_s), 1);
    // Two connections carry the options: the store's, and the one that LISTENs for the fleet.
    QCOMPARE(rowCount(url, u"pg_stat_activity WHERE application_name = 'swamp_from_env'"_s), 2);
    QVERIFY(!QFile::exists(m_h->dataDir() + u"/swamp.db"_s));
}

// libpq reads ~/.pgpass: no PGPASSWORD needed.
void tst_PostgresServe::passwordFromPgpass()
{
    const QString url = m_postgres.createDatabase();
    QVERIFY2(!url.isEmpty(), qPrintable(m_postgres.errorString()));
    const QString home = m_h->tempPath(u"home"_s);
    QVERIFY(QDir().mkpath(home));
    QFile pgpass(home + u"/.pgpass"_s);
    QVERIFY(pgpass.open(QIODevice::WriteOnly));
    pgpass.write(u"%1:%2:%3:swamp:%4\n"_s.arg(m_postgres.host())
                     .arg(m_postgres.port())
                     .arg(QUrl(url).path().mid(1), m_postgres.password())
                     .toUtf8());
    pgpass.close();
    QVERIFY(pgpass.setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner));
    QProcessEnvironment env = environmentWithoutPg();
    env.insert(u"HOME"_s, home);
    m_h->setOrchestratorEnvironment(env);
    QVERIFY(m_h->startOrchestrator(0, {u"--database"_s, url}));
    QVERIFY(!m_h->createToken(u"pgpass"_s).isEmpty());
    QCOMPARE(rowCount(url, u"enrollment_tokens"_s), 1);
    verifyNoPassword(m_h->orchestratorOutput(), u"the orchestrator's output"_s);
}

// Discouraged but accepted: the password in the URL. It is still never printed.
void tst_PostgresServe::passwordInUrlNeverShown()
{
    const QString url = m_postgres.createDatabase();
    QVERIFY2(!url.isEmpty(), qPrintable(m_postgres.errorString()));
    QUrl withPassword(url);
    withPassword.setPassword(m_postgres.password());
    m_h->setOrchestratorEnvironment(environmentWithoutPg());
    QVERIFY(m_h->startOrchestrator(0, {u"--database"_s, withPassword.toString()}));
    QVERIFY(!m_h->createToken(u"in-url"_s).isEmpty());
    const Run workers = m_h->cli({u"worker"_s, u"list"_s, u"--all"_s, u"--json"_s});
    QCOMPARE_EXIT(workers, 0);
    verifyNoPassword(workers.out + workers.err, u"swamp worker list"_s);
    QVERIFY(m_h->stopOrchestrator());
    verifyNoPassword(m_h->orchestratorOutput(), u"the orchestrator's output"_s);
}

void tst_PostgresServe::connectionErrors_data()
{
    QTest::addColumn<QString>("database"); // URL; PORT and PASSWORD are replaced
    QTest::addColumn<QString>("password"); // PGPASSWORD; empty: none
    QTest::addColumn<QStringList>("expected");
    const QString wrong = u"wrong-Secret-8f3k2"_s;
    QTest::addRow("wrong-password")
        << u"postgresql://swamp@127.0.0.1:PORT/swamp_test"_s << wrong
        << QStringList{u"cannot connect to PostgreSQL at 127.0.0.1:PORT (database swamp_test, role swamp)"_s,
                       u"password authentication failed"_s, u"set PGPASSWORD"_s, u"~/.pgpass"_s};
    QTest::addRow("no-password")
        << u"postgresql://swamp@127.0.0.1:PORT/swamp_test"_s << QString()
        << QStringList{u"127.0.0.1:PORT"_s, u"no password supplied"_s, u"set PGPASSWORD"_s};
    QTest::addRow("wrong-password-in-url")
        << u"postgresql://swamp:%1@127.0.0.1:PORT/swamp_test"_s.arg(wrong) << QString()
        << QStringList{u"127.0.0.1:PORT"_s, u"password authentication failed"_s};
    QTest::addRow("missing-database")
        << u"postgresql://swamp@127.0.0.1:PORT/no_such_db"_s << u"PASSWORD"_s
        << QStringList{u"127.0.0.1:PORT"_s, u"database \"no_such_db\" does not exist"_s,
                       u"createdb -h 127.0.0.1 -p PORT -O swamp no_such_db"_s};
    QTest::addRow("unreachable-server")
        << u"postgresql://swamp@127.0.0.1:UNUSED/swamp_test"_s << u"PASSWORD"_s
        << QStringList{u"cannot connect to PostgreSQL at 127.0.0.1:UNUSED"_s, u"Connection refused"_s,
                       u"check that PostgreSQL runs on 127.0.0.1:UNUSED"_s};
    QTest::addRow("no-host-of-several-accepts")
        << u"postgresql://swamp@127.0.0.1:UNUSED,[::1]:UNUSED/swamp_test"_s << u"PASSWORD"_s
        << QStringList{u"cannot connect to PostgreSQL at 127.0.0.1:UNUSED, [::1]:UNUSED (database swamp_test"_s,
                       u"check that PostgreSQL runs on 127.0.0.1:UNUSED, [::1]:UNUSED"_s};
    QTest::addRow("second-host-accepts")
        << u"postgresql://swamp@127.0.0.1:UNUSED,127.0.0.1:PORT/no_such_db"_s << u"PASSWORD"_s
        << QStringList{u"database \"no_such_db\" does not exist"_s, u"create it on the primary (one of 127.0.0.1:UNUSED, 127.0.0.1:PORT)"_s,
                       u"createdb -h <host> -p <port> -O swamp no_such_db"_s};
    QTest::addRow("url-options-reach-libpq")
        << u"postgresql://swamp@127.0.0.1:PORT/swamp_test?sslmode=require"_s << u"PASSWORD"_s
        << QStringList{u"127.0.0.1:PORT"_s, u"server does not support SSL"_s};
    QTest::addRow("password-in-query-refused")
        << u"postgresql://swamp@127.0.0.1:PORT/swamp_test?password=%1"_s.arg(wrong) << QString()
        << QStringList{u"invalid PostgreSQL URL postgresql://swamp@127.0.0.1:PORT/swamp_test"_s,
                       u"a password in the query is not supported"_s};
    QTest::addRow("no-database-in-url")
        << u"postgresql://swamp:%1@127.0.0.1:PORT"_s.arg(wrong) << QString()
        << QStringList{u"invalid PostgreSQL URL postgresql://swamp@127.0.0.1:PORT"_s,
                       u"names no database"_s, u"postgresql://user@host[:port][,host[:port]...]/database"_s};
}

void tst_PostgresServe::connectionErrors()
{
    QFETCH(QString, database);
    QFETCH(QString, password);
    QFETCH(QStringList, expected);
    const QString port = QString::number(m_postgres.port());
    const QString unused = QString::number(unusedPort());
    const auto fill = [&](QString text) {
        return text.replace(u"UNUSED"_s, unused).replace(u"PORT"_s, port);
    };
    QProcessEnvironment env = environmentWithoutPg();
    env.insert(u"HOME"_s, m_h->tempPath(u"home-without-pgpass"_s));
    if (!password.isEmpty())
        env.insert(u"PGPASSWORD"_s, password == u"PASSWORD" ? m_postgres.password() : password);
    const Run run = m_h->cli({u"serve"_s, u"--listen"_s, u"127.0.0.1:0"_s, u"--data-dir"_s,
                              m_h->dataDir(), u"--database"_s, fill(database)},
                             swampBinary(), env);
    QVERIFY2(run.exitCode != 0 && !run.crashed, qPrintable(run.describe()));
    QVERIFY2(!run.out.contains(u"Listening"_s), qPrintable(run.describe()));
    for (const QString &text : std::as_const(expected))
        QVERIFY2(run.err.contains(fill(text)), qPrintable(fill(text) + u"\nnot in:\n"_s + run.describe()));
    verifyNoPassword(run.out + run.err, u"the error"_s);
    QVERIFY2(!run.err.contains(u"wrong-Secret"_s), qPrintable(run.describe()));
}

QTEST_GUILESS_MAIN(tst_PostgresServe)
#include "tst_postgres_serve.moc"
