#pragma once

#include <QWidget>

class QAction;
class QCheckBox;
class QFormLayout;
class QLabel;
class QLineEdit;
class QMenu;
class QScrollArea;
class QSettings;
class QSortFilterProxyModel;
class QSplitter;
class QTableView;
class QToolButton;

namespace Swamp::Console {

class AdminSession;
class DrainWorkerDialog;
class WorkerActions;
class WorkerModel;

// The workers table (sortable, filterable, live) with a details pane for the selected worker,
// and the worker actions (drain, pause, labels, remove, ...) in its buttons and context menu.
// The selection follows the worker's id, whatever the rows do.
class WorkersTab final : public QWidget
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(WorkersTab)

public:
    WorkersTab(AdminSession *session, WorkerModel *model, QWidget *parent = nullptr);

    QTableView *view() const { return m_view; }
    QLineEdit *filterEdit() const { return m_filter; }
    QSortFilterProxyModel *proxy() const { return m_proxy; }
    QString selectedId() const { return m_selectedId; }
    void selectWorker(const QString &id);
    // The details pane's value for a field ("machineId", "instanceId", "hostname", ...).
    QString detail(const QString &field) const;
    WorkerActions *actions() const { return m_actions; }
    QAction *drainAction() const;
    QAction *undrainAction() const;
    // Asks for confirmation (non-blocking); the returned dialog sends the request when accepted.
    DrainWorkerDialog *confirmDrain();
    // The context menu of the workers table, as shown at a right click (for tests).
    QMenu *createContextMenu();

    // Shows the Orchestrator column in a fleet, hides it with one orchestrator.
    void setFleet(bool fleet);
    bool isFleet() const { return m_fleet; }

    void saveState(QSettings &settings) const;
    void restoreState(const QSettings &settings);

private:
    void setUpActions();
    void setUpFilters();
    void setUpTable();
    QScrollArea *createDetailsPane();
    void setUpSplitter(QScrollArea *details);
    void setUpLayout(const QList<QToolButton *> &buttons);
    void connectModel();
    void updateDetails();
    void updateSummary();
    void handleSelectionChanged();
    void showContextMenu(const QPoint &position);

Q_SIGNALS:
    void message(const QString &text);

private:
    AdminSession *m_session;

    WorkerModel *m_model;
    QSortFilterProxyModel *m_statusProxy;
    QSortFilterProxyModel *m_proxy;
    QLineEdit *m_filter;
    QCheckBox *m_showGone;
    QLabel *m_summary;
    QTableView *m_view;
    QSplitter *m_splitter;
    QLabel *m_detailsTitle;
    QHash<QString, QLabel *> m_details;
    QString m_selectedId;
    WorkerActions *m_actions;
    bool m_fleet = false;
};

} // namespace Swamp::Console
