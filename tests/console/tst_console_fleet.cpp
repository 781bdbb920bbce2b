// The console against a fleet (several orchestrators on one PostgreSQL database, started by the
// test): the workers table names the orchestrator holding each worker's session.
#include "fleet/fleetfixture.h"

#include "client/adminsession.h"
#include "mainwindow.h"
#include "workermodel.h"
#include "workerstab.h"

#include <QLineEdit>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QSortFilterProxyModel>
#include <QStandardPaths>
#include <QTableView>
#include <QTest>

using namespace Swamp;
using namespace Swamp::Console;
using namespace SwampTest;

class tst_ConsoleFleet : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init()
    {
        QTest::failOnWarning(QRegularExpression(QStringLiteral("^(?!This plugin does not support propagateSizeHints).*")));
    }
    void cleanup() { m_fleet.orchestrators.clear(); }

    void orchestratorColumnNamesTheHolder();

private:
    FleetFixture m_fleet;
};

void tst_ConsoleFleet::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName(QStringLiteral("swamp-tests"));
    QCoreApplication::setApplicationName(QStringLiteral("tst_console_fleet"));
    SWAMP_START_POSTGRES(m_fleet.server);
    QVERIFY(m_fleet.writeAdminToken());
    QVERIFY2(m_fleet.newDatabase(), qPrintable(m_fleet.server.errorString()));
}

void tst_ConsoleFleet::orchestratorColumnNamesTheHolder()
{
    Harness *first = m_fleet.startOrchestrator();
    QVERIFY(first);
    Harness *second = m_fleet.startOrchestrator();
    QVERIFY(second);
    // The worker dials the second orchestrator; the console watches the first.
    const QString token = first->createToken(QStringLiteral("far"));
    QVERIFY(!token.isEmpty());
    QVERIFY(second->startEnrolledWorker(token, second->newCacheDir()));

    AdminEndpointOptions options;
    options.dataDir = first->dataDir();
    auto endpoint = resolveAdminEndpoint(options);
    QVERIFY2(endpoint, qPrintable(endpoint ? QString() : endpoint.error().text()));
    AdminSession session(*endpoint);
    MainWindow window(&session);
    QSignalSpy loaded(&window, &MainWindow::loaded);
    window.show();
    session.start();
    QVERIFY(loaded.wait(30000));

    WorkersTab *tab = window.workersTab();
    QTRY_VERIFY_WITH_TIMEOUT(tab->isFleet(), 10000);
    QVERIFY(!tab->view()->isColumnHidden(WorkerModel::Orchestrator));
    QCOMPARE(window.workerModel()->headerData(WorkerModel::Orchestrator, Qt::Horizontal, Qt::DisplayRole).toString(),
             u"Orchestrator");
    const WorkerModel *model = window.workerModel();
    QTRY_COMPARE_WITH_TIMEOUT(model->rowCount(), 1, 10000);
    QTRY_COMPARE_WITH_TIMEOUT(model->index(0, WorkerModel::Orchestrator).data().toString(),
                              QStringLiteral("127.0.0.1:%1").arg(second->port()), 10000);
    // The filter matches it too.
    tab->filterEdit()->setText(QStringLiteral("127.0.0.1:%1").arg(second->port()));
    QCOMPARE(tab->proxy()->rowCount(), 1);
    tab->filterEdit()->setText(QStringLiteral("127.0.0.1:%1").arg(first->port()));
    QCOMPARE(tab->proxy()->rowCount(), 0);
}

QTEST_MAIN(tst_ConsoleFleet)
#include "tst_console_fleet.moc"
