#pragma once

#include <QMainWindow>

class QLabel;
class QTabWidget;
class QToolButton;

namespace Swamp::Console {

class AdminSession;
class AuditTab;
class EventModel;
class EventsTab;
class QueryTab;
class StepFeed;
class StepModel;
class StepsTab;
class TokenModel;
class TokensTab;
class WorkerModel;
class WorkersTab;

// The console's window: the tabs over the live models, the menus and shortcuts, and the
// connection indicator in the status bar. Geometry and column layouts are kept in QSettings.
class MainWindow final : public QMainWindow
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(MainWindow)

public:
    explicit MainWindow(AdminSession *session, QWidget *parent = nullptr);

    AdminSession *session() const { return m_session; }
    WorkerModel *workerModel() const { return m_workerModel; }
    TokenModel *tokenModel() const { return m_tokenModel; }
    EventModel *eventModel() const { return m_eventModel; }
    StepModel *stepModel() const { return m_stepModel; }
    StepFeed *stepFeed() const { return m_stepFeed; }
    QTabWidget *tabs() const { return m_tabs; }
    WorkersTab *workersTab() const { return m_workersTab; }
    TokensTab *tokensTab() const { return m_tokensTab; }
    QueryTab *queryTab() const { return m_queryTab; }
    EventsTab *eventsTab() const { return m_eventsTab; }
    StepsTab *stepsTab() const { return m_stepsTab; }
    AuditTab *auditTab() const { return m_auditTab; }
    QString connectionText() const;
    // True once the first worker, token and step lists arrived.
    bool hasLoaded() const { return m_workersLoaded && m_tokensLoaded && m_stepsLoaded; }

    // Saves one PNG per tab ("<dir>/console-<tab><suffix>.png"); returns the files written.
    QStringList saveScreenshots(const QString &directory, const QString &suffix);

    void saveSettings() const;

Q_SIGNALS:
    void loaded();

protected:
    void closeEvent(QCloseEvent *event) override;

private:
    void createTabs();
    void createStatusBar();
    void connectSession();
    void startClock();
    void createMenus();
    void restoreSettings();
    void showTabMessage(const QString &text);
    void updateConnectionIndicator();
    void showConnectionDialog();
    void focusFilter();
    void showAbout();
    void updateQueueIndicator();

    AdminSession *m_session;
    WorkerModel *m_workerModel;
    TokenModel *m_tokenModel;
    EventModel *m_eventModel;
    StepModel *m_stepModel;
    StepFeed *m_stepFeed;
    QTabWidget *m_tabs;
    WorkersTab *m_workersTab;
    TokensTab *m_tokensTab;
    QueryTab *m_queryTab;
    EventsTab *m_eventsTab;
    StepsTab *m_stepsTab;
    AuditTab *m_auditTab;
    QLabel *m_queueIndicator;
    QLabel *m_connectionIcon;
    QLabel *m_connectionText;
    QToolButton *m_connectionButton;
    QString m_serverVersion;
    bool m_workersLoaded = false;
    bool m_tokensLoaded = false;
    bool m_stepsLoaded = false;
};

} // namespace Swamp::Console
