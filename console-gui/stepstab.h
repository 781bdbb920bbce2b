#pragma once

#include <QJsonArray>
#include <QJsonObject>
#include <QWidget>

class QAction;
class QLabel;
class QLineEdit;
class QMessageBox;
class QSettings;
class QSortFilterProxyModel;
class QSplitter;
class QTableView;
class QToolButton;
class QTreeWidget;

namespace Swamp::Console {

class AdminSession;
class StepFeed;
class StepModel;
class StepOutputView;

// The steps table (queued, running, recent results; sortable, filterable, live), the selected
// step's fields and leases, and its output as it is written. Cancel (with confirmation) and copy
// the step id. The selection follows the step's id, whatever the rows do.
class StepsTab final : public QWidget
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(StepsTab)

public:
    StepsTab(AdminSession *session, StepModel *model, StepFeed *feed, QWidget *parent = nullptr);

    QTableView *view() const { return m_view; }
    QLineEdit *filterEdit() const { return m_filter; }
    QSortFilterProxyModel *proxy() const { return m_proxy; }
    StepOutputView *outputView() const { return m_output; }
    QTreeWidget *leasesView() const { return m_leases; }
    QString selectedId() const { return m_selectedId; }
    void selectStep(const QString &id);
    // The details pane's value for a field ("state", "workerName", "attempt", "exitCode", ...).
    QString detail(const QString &field) const;
    QAction *cancelAction() const { return m_cancel; }
    QAction *copyIdAction() const { return m_copyId; }
    // Asks for confirmation (non-blocking); the returned box sends `run.cancel` when accepted.
    QMessageBox *confirmCancel();
    void copyId();

    void saveState(QSettings &settings) const;
    void restoreState(const QSettings &settings);

Q_SIGNALS:
    void message(const QString &text);

private:
    void setUpActions();
    void setUpFilter();
    void setUpTable();
    void setUpDetails();
    void setUpLeasesView();
    void setUpSplitters();
    void setUpLayout(QToolButton *cancelButton, QToolButton *copyButton);
    void connectModel();
    void handleSelectionChanged();
    void handleStatus(const QJsonObject &status);
    void updateDetails();
    void updateLeases();
    void updateActions();
    void updateSummary();
    void sendCancel(const QString &id, const QString &name);

    AdminSession *m_session;
    StepModel *m_model;
    StepFeed *m_feed;
    QSortFilterProxyModel *m_proxy;
    QLineEdit *m_filter;
    QLabel *m_summary;
    QTableView *m_view;
    QSplitter *m_splitter;
    QSplitter *m_outputSplitter;
    QSplitter *m_detailsSplitter;
    QLabel *m_detailsTitle;
    QHash<QString, QLabel *> m_details;
    QTreeWidget *m_leases;
    StepOutputView *m_output;
    QString m_selectedId;
    QJsonArray m_selectedLeases;
    QAction *m_cancel;
    QAction *m_copyId;
};

} // namespace Swamp::Console
