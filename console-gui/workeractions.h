#pragma once

#include "common/error.h"
#include "common/result.h"

#include <QJsonObject>
#include <QObject>

#include <functional>

class QAction;
class QMenu;
class QWidget;

namespace Swamp {
struct WorkerRecord;
}

namespace Swamp::Console {

class ActionDialog;
class AdminSession;
class DrainWorkerDialog;
class PruneWorkersDialog;
class WorkerLabelsDialog;
class WorkerModel;

// What an operator can do to the selected worker: drain (with a deadline), undrain, pause,
// resume, edit its labels, remove it, copy its name; and prune the workers gone for long. The same actions serve the workers table's
// context menu, the Workers menu and the tab's buttons; they follow the selected worker's state.
// Dialogs are children of `dialogParent`, non-blocking; errors of the orchestrator are shown in
// the dialog (or as a message for the actions without one).
class WorkerActions final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(WorkerActions)

public:
    WorkerActions(AdminSession *session, WorkerModel *model, QWidget *dialogParent);

    QAction *drainAction() const { return m_drain; }
    QAction *undrainAction() const { return m_undrain; }
    QAction *pauseAction() const { return m_pause; }
    QAction *resumeAction() const { return m_resume; }
    QAction *labelsAction() const { return m_labels; }
    QAction *removeAction() const { return m_remove; }
    QAction *copyNameAction() const { return m_copyName; }
    QAction *pruneAction() const { return m_prune; }
    QList<QAction *> actions() const;
    // The actions in the order of the menus, with separators.
    void addTo(QMenu *menu) const;

    void setWorkerId(const QString &id);
    QString workerId() const { return m_workerId; }
    // Enables each action for the current worker's state.
    void update();

    DrainWorkerDialog *openDrainDialog();
    WorkerLabelsDialog *openLabelsDialog();
    ActionDialog *openRemoveDialog();
    PruneWorkersDialog *openPruneDialog();
    void undrain();
    void pause();
    void resume();
    void copyName();

Q_SIGNALS:
    void message(const QString &text);

private:
    using Done = std::function<QString(const QJsonObject &result)>;
    const WorkerRecord *worker() const;
    void send(const QString &method, const QJsonObject &params, ActionDialog *dialog, const Done &done);
    void connectDialog(ActionDialog *dialog, const QString &method, const std::function<QJsonObject()> &params,
                       const Done &done);
    QString removeText(const WorkerRecord &worker) const;

    AdminSession *m_session;
    WorkerModel *m_model;
    QWidget *m_dialogParent;
    QString m_workerId;
    QAction *m_drain;
    QAction *m_undrain;
    QAction *m_pause;
    QAction *m_resume;
    QAction *m_labels;
    QAction *m_remove;
    QAction *m_copyName;
    QAction *m_prune;
};

} // namespace Swamp::Console
