#include "workeractions.h"

#include "actiondialog.h"
#include "client/adminsession.h"
#include "drainworkerdialog.h"
#include "pruneworkersdialog.h"
#include "workerlabelsdialog.h"
#include "workermodel.h"

#include "model/worker.h"

#include <QAction>
#include <QClipboard>
#include <QJsonArray>
#include <QGuiApplication>
#include <QLabel>
#include <QMenu>
#include <QStyle>
#include <QWidget>

namespace Swamp::Console {

WorkerActions::WorkerActions(AdminSession *session, WorkerModel *model, QWidget *dialogParent)
    : QObject(dialogParent)
    , m_session(session)
    , m_model(model)
    , m_dialogParent(dialogParent)
    , m_drain(new QAction(dialogParent->style()->standardIcon(QStyle::SP_MediaStop), tr("&Drain…"), this))
    , m_undrain(new QAction(dialogParent->style()->standardIcon(QStyle::SP_MediaPlay), tr("&Undrain"), this))
    , m_pause(new QAction(dialogParent->style()->standardIcon(QStyle::SP_MediaPause), tr("&Pause"), this))
    , m_resume(new QAction(dialogParent->style()->standardIcon(QStyle::SP_MediaPlay), tr("Re&sume"), this))
    , m_labels(new QAction(tr("&Labels…"), this))
    , m_remove(new QAction(dialogParent->style()->standardIcon(QStyle::SP_DialogDiscardButton), tr("Re&move…"), this))
    , m_copyName(new QAction(tr("&Copy name"), this))
    , m_prune(new QAction(tr("P&rune gone workers…"), this))
{
    m_prune->setToolTip(tr("Remove the workers gone for longer than a grace period and free their enrollments"));
    m_drain->setToolTip(tr("Finish the running steps, take no new ones, then exit"));
    m_undrain->setToolTip(tr("Take steps again"));
    m_pause->setToolTip(tr("Take no new steps but stay connected (Ctrl+P)"));
    m_pause->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_P));
    m_resume->setToolTip(tr("Take steps again after a pause (Ctrl+Shift+P)"));
    m_resume->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_P));
    m_labels->setToolTip(tr("Add, change or remove the worker's labels (F2)"));
    m_labels->setShortcut(QKeySequence(Qt::Key_F2));
    m_remove->setToolTip(tr("Remove the worker and free its enrollment (Del)"));
    m_remove->setShortcut(QKeySequence::Delete);
    m_copyName->setShortcut(QKeySequence::Copy);
    // The shortcuts act on the workers table's selection: only while the tab has the focus.
    for (QAction *action : actions()) {
        action->setShortcutContext(Qt::WidgetWithChildrenShortcut);
        dialogParent->addAction(action);
    }
    connect(m_drain, &QAction::triggered, this, &WorkerActions::openDrainDialog);
    connect(m_undrain, &QAction::triggered, this, &WorkerActions::undrain);
    connect(m_pause, &QAction::triggered, this, &WorkerActions::pause);
    connect(m_resume, &QAction::triggered, this, &WorkerActions::resume);
    connect(m_labels, &QAction::triggered, this, &WorkerActions::openLabelsDialog);
    connect(m_remove, &QAction::triggered, this, &WorkerActions::openRemoveDialog);
    connect(m_copyName, &QAction::triggered, this, &WorkerActions::copyName);
    connect(m_prune, &QAction::triggered, this, &WorkerActions::openPruneDialog);
    update();
}

QList<QAction *> WorkerActions::actions() const
{
    return {m_drain, m_undrain, m_pause, m_resume, m_labels, m_remove, m_copyName};
}

void WorkerActions::addTo(QMenu *menu) const
{
    menu->addAction(m_pause);
    menu->addAction(m_resume);
    menu->addAction(m_drain);
    menu->addAction(m_undrain);
    menu->addSeparator();
    menu->addAction(m_labels);
    menu->addAction(m_copyName);
    menu->addSeparator();
    menu->addAction(m_remove);
}

PruneWorkersDialog *WorkerActions::openPruneDialog()
{
    auto *dialog = new PruneWorkersDialog(m_dialogParent);
    connect(dialog, &PruneWorkersDialog::previewRequested, this, [this, dialog](qint64 grace) {
        m_session->request(QStringLiteral("worker.prune"),
                           {{QStringLiteral("gracePeriodMs"), grace}, {QStringLiteral("dryRun"), true}}, dialog,
                           [dialog, grace](const Result<QJsonObject> &result) { dialog->setPreview(grace, result); });
    });
    connectDialog(dialog, QStringLiteral("worker.prune"), [dialog] {
        return QJsonObject{{QStringLiteral("gracePeriodMs"), dialog->gracePeriodMs()},
                           {QStringLiteral("dryRun"), false}};
    }, [](const QJsonObject &result) {
        int freed = 0;
        const QJsonArray workers = result.value(QStringLiteral("workers")).toArray();
        for (const QJsonValue &worker : workers)
            freed += worker.toObject().value(QStringLiteral("bindingsFreed")).toInt();
        return tr("Pruned %n worker(s); %1 enrollment(s) freed.", nullptr, int(workers.size())).arg(freed);
    });
    dialog->refreshPreview();
    return dialog;
}

void WorkerActions::setWorkerId(const QString &id)
{
    m_workerId = id;
    update();
}

const WorkerRecord *WorkerActions::worker() const
{
    return m_model->worker(m_workerId);
}

void WorkerActions::update()
{
    const WorkerRecord *w = worker();
    const bool connected = w && isConnectedStatus(w->status);
    m_drain->setEnabled(connected && !w->draining);
    m_undrain->setEnabled(connected && w->draining);
    // A gone worker can be paused before it comes back (the flag is its record's).
    m_pause->setEnabled(w && !w->paused);
    m_resume->setEnabled(w && w->paused);
    m_labels->setEnabled(w != nullptr);
    m_remove->setEnabled(w != nullptr);
    m_copyName->setEnabled(w != nullptr);
}

// The request of one action. The answer's worker record replaces the row at once; the events
// that follow refresh the rest.
void WorkerActions::send(const QString &method, const QJsonObject &params, ActionDialog *dialog, const Done &done)
{
    QObject *context = dialog ? static_cast<QObject *>(dialog) : this;
    m_session->request(method, params, context, [this, method, dialog, done](const Result<QJsonObject> &result) {
        if (!result) {
            if (dialog)
                dialog->showError(result.error());
            else
                Q_EMIT message(result.error().code == u"unknown_method"
                                   ? tr("This orchestrator does not offer %1 (it runs an older swamp): %2")
                                         .arg(method, result.error().text())
                                   : result.error().text());
            return;
        }
        const WorkerRecord record = WorkerRecord::fromJson(result->value(QStringLiteral("worker")).toObject());
        if (!record.id.isEmpty() && m_model->worker(record.id))
            m_model->upsert(record);
        m_session->scheduleRefresh();
        if (dialog)
            dialog->markDone();
        Q_EMIT message(done(*result));
    });
}

void WorkerActions::connectDialog(ActionDialog *dialog, const QString &method,
                                  const std::function<QJsonObject()> &params, const Done &done)
{
    connect(dialog, &ActionDialog::confirmed, this,
            [this, dialog, method, params, done] { send(method, params(), dialog, done); });
    dialog->open();
}

DrainWorkerDialog *WorkerActions::openDrainDialog()
{
    const WorkerRecord *w = worker();
    if (!w || !m_drain->isEnabled())
        return nullptr;
    const QString name = w->name;
    auto *dialog = new DrainWorkerDialog(name, w->activeSteps, m_dialogParent);
    connectDialog(dialog, QStringLiteral("worker.drain"), [dialog, name] {
        QJsonObject params{{QStringLiteral("name"), name}};
        if (const qint64 deadline = dialog->deadlineMs(); deadline > 0)
            params.insert(QStringLiteral("deadlineMs"), deadline);
        return params;
    }, [name](const QJsonObject &) { return tr("Draining worker '%1'.").arg(name); });
    return dialog;
}

void WorkerActions::undrain()
{
    if (const WorkerRecord *w = worker(); w && m_undrain->isEnabled()) {
        const QString name = w->name;
        send(QStringLiteral("worker.undrain"), {{QStringLiteral("name"), name}}, nullptr,
             [name](const QJsonObject &) { return tr("Worker '%1' takes steps again.").arg(name); });
    }
}

void WorkerActions::pause()
{
    if (const WorkerRecord *w = worker(); w && m_pause->isEnabled()) {
        const QString name = w->name;
        send(QStringLiteral("worker.pause"), {{QStringLiteral("name"), name}}, nullptr, [name](const QJsonObject &) {
            return tr("Paused worker '%1': it takes no new steps and stays connected.").arg(name);
        });
    }
}

void WorkerActions::resume()
{
    if (const WorkerRecord *w = worker(); w && m_resume->isEnabled()) {
        const QString name = w->name;
        send(QStringLiteral("worker.resume"), {{QStringLiteral("name"), name}}, nullptr,
             [name](const QJsonObject &) { return tr("Worker '%1' takes steps again.").arg(name); });
    }
}

WorkerLabelsDialog *WorkerActions::openLabelsDialog()
{
    const WorkerRecord *w = worker();
    if (!w || !m_labels->isEnabled())
        return nullptr;
    const QString name = w->name;
    auto *dialog = new WorkerLabelsDialog(name, w->labels, m_dialogParent);
    connectDialog(dialog, QStringLiteral("worker.label"), [dialog] { return dialog->parameters(); },
                  [name](const QJsonObject &) { return tr("Changed the labels of worker '%1'.").arg(name); });
    return dialog;
}

QString WorkerActions::removeText(const WorkerRecord &w) const
{
    QString text = tr("Remove worker '%1'? Its record is deleted and its enrollment on token '%2' is freed, so "
                      "the token can enroll another machine.").arg(w.name, w.tokenName);
    if (isConnectedStatus(w.status))
        text += u' ' + tr("It is connected: its session ends now, and its %n running step(s) are cancelled "
                          "and go back to the queue.", nullptr, w.activeSteps);
    else
        text += u' ' + tr("It is not connected; no step runs on it.");
    return text;
}

ActionDialog *WorkerActions::openRemoveDialog()
{
    const WorkerRecord *w = worker();
    if (!w || !m_remove->isEnabled())
        return nullptr;
    const QString name = w->name;
    const QString id = w->id;
    auto *dialog = new ActionDialog(tr("Remove worker %1").arg(name), removeText(*w), tr("&Remove"),
                                    ActionDialog::Kind::Destructive, m_dialogParent);
    connectDialog(dialog, QStringLiteral("worker.remove"), [dialog, name] {
        QJsonObject params{{QStringLiteral("name"), name}};
        if (!dialog->reason().isEmpty())
            params.insert(QStringLiteral("reason"), dialog->reason());
        return params;
    }, [this, name, id](const QJsonObject &) {
        m_model->remove(id);
        return tr("Removed worker '%1'.").arg(name);
    });
    return dialog;
}

void WorkerActions::copyName()
{
    if (const WorkerRecord *w = worker())
        QGuiApplication::clipboard()->setText(w->name);
}

} // namespace Swamp::Console
