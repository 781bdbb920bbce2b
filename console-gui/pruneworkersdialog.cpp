#include "pruneworkersdialog.h"

#include "common/duration.h"
#include "model/worker.h"

#include <QFormLayout>
#include <QHeaderView>
#include <QJsonArray>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QTreeWidget>

namespace Swamp::Console {

PruneWorkersDialog::PruneWorkersDialog(QWidget *parent)
    : ActionDialog(tr("Prune workers"),
                   tr("Remove the workers disconnected or lost for longer than the grace period, and free their "
                      "enrollments so that their tokens can enroll other machines. A pruned machine that "
                      "connects again enrolls as a new worker. Connected workers, and gone ones that may still "
                      "resume, are never pruned."),
                   tr("&Prune"), Kind::Destructive, parent)
    , m_gracePeriod(new QLineEdit(QStringLiteral("24h"), this))
    , m_problem(createProblemLabel(this))
    , m_preview(new QTreeWidget(this))
    , m_previewText(new QLabel(this))
{
    m_gracePeriod->setPlaceholderText(tr("0s, 30m, 24h, 7d"));
    m_preview->setHeaderLabels({tr("Name"), tr("Status"), tr("Token"), tr("Gone since")});
    m_preview->setRootIsDecorated(false);
    m_preview->header()->setStretchLastSection(true);
    m_preview->setMinimumHeight(120);
    m_previewText->setWordWrap(true);
    hideReason();
    form()->insertRow(0, tr("&Grace period:"), m_gracePeriod);
    form()->insertRow(1, QString(), m_problem);
    form()->insertRow(2, m_previewText);
    form()->insertRow(3, m_preview);
    connect(m_gracePeriod, &QLineEdit::textChanged, this, &PruneWorkersDialog::validate);
    resize(560, 420);
}

qint64 PruneWorkersDialog::gracePeriodMs() const
{
    return parseDurationOrZeroMs(m_gracePeriod->text().trimmed()).value_or(-1);
}

QString PruneWorkersDialog::previewText() const
{
    return m_previewText->text();
}

bool PruneWorkersDialog::isInputValid() const
{
    // Prune only what the operator saw: the preview of this grace period, with something in it.
    return gracePeriodMs() >= 0 && m_previewFor == gracePeriodMs() && m_previewCount > 0;
}

void PruneWorkersDialog::validate()
{
    const auto grace = parseDurationOrZeroMs(m_gracePeriod->text().trimmed());
    showProblem(m_problem, grace ? QString() : grace.error().text());
    m_preview->clear();
    m_previewFor = -1;
    m_previewCount = 0;
    m_previewText->setText(grace ? tr("Looking for workers to prune…") : QString());
    updateAcceptButton();
    if (grace)
        Q_EMIT previewRequested(*grace);
}

void PruneWorkersDialog::setPreview(qint64 gracePeriodMs, const Result<QJsonObject> &result)
{
    if (gracePeriodMs != this->gracePeriodMs())
        return; // an answer for a grace period typed over since
    m_preview->clear();
    if (!result) {
        m_previewText->setText(tr("The orchestrator cannot say what would be pruned: %1").arg(result.error().text()));
        return;
    }
    const QDateTime now = QDateTime::currentDateTimeUtc();
    const QJsonArray workers = result->value(QStringLiteral("workers")).toArray();
    for (const QJsonValue &value : workers) {
        const WorkerRecord w = WorkerRecord::fromJson(value.toObject());
        const QDateTime gone = w.disconnectedAt.isValid() ? w.disconnectedAt : w.lastSeenAt;
        new QTreeWidgetItem(m_preview, {w.name, workerStatusName(w.status), w.tokenName, formatRelative(gone, now)});
    }
    m_previewFor = gracePeriodMs;
    m_previewCount = int(workers.size());
    QString text = workers.isEmpty()
                       ? tr("No worker has been gone for longer than %1; nothing to prune.")
                             .arg(formatDurationMs(gracePeriodMs))
                       : tr("These %n worker(s) would be pruned:", nullptr, m_previewCount);
    if (const int inGrace = result->value(QStringLiteral("inReconnectGrace")).toInt(); inGrace > 0)
        text += u' ' + tr("%n gone worker(s) are kept: they may still resume.", nullptr, inGrace);
    m_previewText->setText(text);
    updateAcceptButton();
}

} // namespace Swamp::Console
