#include "revoketokendialog.h"

#include "statuspalette.h"

#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QStyle>
#include <QVBoxLayout>

namespace Swamp::Console {

RevokeTokenDialog::RevokeTokenDialog(const QString &tokenName, const QStringList &connectedWorkers,
                                     QWidget *parent)
    : QDialog(parent)
    , m_tokenName(tokenName)
    , m_reason(new QLineEdit(this))
    , m_workers(new QListWidget(this))
    , m_error(new QLabel(this))
    , m_buttons(new QDialogButtonBox(QDialogButtonBox::Cancel, this))
{
    setWindowTitle(tr("Revoke token %1").arg(tokenName));
    auto *question = new QLabel(
        tr("Revoke enrollment token '%1'? New enrollments with it fail at once, and it cannot be "
           "undone.").arg(tokenName),
        this);
    question->setWordWrap(true);

    auto *workersLabel = new QLabel(this);
    workersLabel->setWordWrap(true);
    if (connectedWorkers.isEmpty()) {
        workersLabel->setText(tr("No connected worker is enrolled on this token."));
        m_workers->setVisible(false);
    } else {
        workersLabel->setText(tr("These connected workers will be disconnected now; their running steps "
                                 "are cancelled and go back to the queue:"));
        for (const QString &worker : connectedWorkers)
            m_workers->addItem(new QListWidgetItem(
                StatusPalette::workerStatusIcon(WorkerStatus::Disconnected), worker));
    }
    m_reason->setPlaceholderText(tr("optional, shown in the event log"));
    m_reason->setMaxLength(500);
    m_error->setWordWrap(true);
    m_error->setVisible(false);

    QPushButton *revoke = m_buttons->addButton(tr("&Revoke"), QDialogButtonBox::DestructiveRole);
    revoke->setIcon(style()->standardIcon(QStyle::SP_DialogDiscardButton));
    m_buttons->button(QDialogButtonBox::Cancel)->setDefault(true);
    connect(revoke, &QPushButton::clicked, this, &RevokeTokenDialog::accept);
    connect(m_buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);

    auto *form = new QFormLayout;
    form->addRow(tr("R&eason:"), m_reason);

    auto *layout = new QVBoxLayout(this);
    layout->addWidget(question);
    layout->addLayout(form);
    layout->addWidget(workersLabel);
    layout->addWidget(m_workers, 1);
    layout->addWidget(m_error);
    layout->addWidget(m_buttons);
    m_reason->setFocus();
    resize(480, sizeHint().height());
}

QStringList RevokeTokenDialog::listedWorkers() const
{
    QStringList names;
    for (int i = 0; i < m_workers->count(); ++i)
        names << m_workers->item(i)->text();
    return names;
}

void RevokeTokenDialog::showError(const QString &message)
{
    m_busy = false;
    m_buttons->setEnabled(true);
    m_error->setText(message);
    m_error->setVisible(true);
}

void RevokeTokenDialog::markRevoked()
{
    m_busy = false;
    QDialog::accept();
}

void RevokeTokenDialog::accept()
{
    if (m_busy)
        return;
    m_busy = true;
    m_buttons->setEnabled(false);
    Q_EMIT revokeRequested(m_tokenName, m_reason->text().trimmed());
}

} // namespace Swamp::Console
