#pragma once

#include "model/worker.h"

#include <QWidget>

class QAction;
class QCheckBox;
class QMessageBox;
class QFormLayout;
class QLabel;
class QLineEdit;
class QScrollArea;
class QSettings;
class QSortFilterProxyModel;
class QSplitter;
class QTableView;
class QToolButton;

namespace Swamp::Console {

class AdminSession;
class WorkerModel;

// The workers table (sortable, filterable, live) with a details pane for the selected worker,
// and drain/undrain with confirmation. The selection follows the worker's id, whatever the rows do.
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
    QAction *drainAction() const { return m_drain; }
    QAction *undrainAction() const { return m_undrain; }
    // Asks for confirmation (non-blocking); the returned box sends the request when accepted.
    QMessageBox *confirmDrain();
    void undrain();

    void saveState(QSettings &settings) const;
    void restoreState(const QSettings &settings);

private:
    void setUpActions();
    void setUpFilters();
    void setUpTable();
    QScrollArea *createDetailsPane();
    void setUpSplitter(QScrollArea *details);
    void setUpLayout(QToolButton *drainButton, QToolButton *undrainButton);
    void connectModel();
    void updateDetails();
    void updateSummary();
    void handleSelectionChanged();
    void updateActions();
    void sendDrain(const QString &method, const QString &name);
    QString lastSeenText(const WorkerRecord &worker) const;

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
    QAction *m_drain;
    QAction *m_undrain;
};

} // namespace Swamp::Console
