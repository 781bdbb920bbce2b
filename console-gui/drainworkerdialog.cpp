#include "drainworkerdialog.h"

#include "common/duration.h"

#include <QCheckBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>

namespace Swamp::Console {

DrainWorkerDialog::DrainWorkerDialog(const QString &worker, int runningSteps, QWidget *parent)
    : ActionDialog(tr("Drain worker %1").arg(worker),
                   tr("Drain worker '%1'? It finishes its %n running step(s), takes no new ones, and then "
                      "exits.", nullptr, runningSteps).arg(worker),
                   tr("&Drain"), Kind::Normal, parent)
    , m_useDeadline(new QCheckBox(tr("Dead&line:"), this))
    , m_deadline(new QLineEdit(QStringLiteral("30m"), this))
    , m_deadlineProblem(createProblemLabel(this))
{
    m_useDeadline->setToolTip(tr("Steps still running when the deadline has passed are cancelled on the worker "
                                 "and go back to the queue; the worker then exits"));
    m_deadline->setPlaceholderText(tr("45s, 30m, 24h"));
    m_deadline->setEnabled(false);
    auto *hint = new QLabel(tr("Without a deadline the worker waits for its steps however long they take. "
                               "With one, steps still running then go back to the queue."),
                            this);
    hint->setWordWrap(true);
    hideReason();
    form()->insertRow(0, m_useDeadline, m_deadline);
    form()->insertRow(1, QString(), m_deadlineProblem);
    form()->insertRow(2, QString(), hint);
    connect(m_useDeadline, &QCheckBox::toggled, this, [this](bool on) {
        m_deadline->setEnabled(on);
        validate();
    });
    connect(m_deadline, &QLineEdit::textChanged, this, &DrainWorkerDialog::validate);
    validate();
}

qint64 DrainWorkerDialog::deadlineMs() const
{
    return m_useDeadline->isChecked() ? parseDurationMs(m_deadline->text().trimmed()).value_or(0) : 0;
}

bool DrainWorkerDialog::isInputValid() const
{
    return !m_useDeadline->isChecked() || parseDurationMs(m_deadline->text().trimmed()).has_value();
}

void DrainWorkerDialog::validate()
{
    const auto parsed = parseDurationMs(m_deadline->text().trimmed());
    showProblem(m_deadlineProblem, !m_useDeadline->isChecked() || parsed ? QString() : parsed.error().text());
    updateAcceptButton();
}

} // namespace Swamp::Console
