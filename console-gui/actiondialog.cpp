#include "actiondialog.h"

#include "statuspalette.h"

#include "model/limits.h"

#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QStyle>
#include <QVBoxLayout>

namespace Swamp::Console {

QLabel *createProblemLabel(QWidget *parent)
{
    auto *label = new QLabel(parent);
    label->setWordWrap(true);
    label->setTextInteractionFlags(Qt::TextSelectableByMouse);
    QPalette palette = label->palette();
    palette.setColor(QPalette::WindowText, StatusPalette::readable(QColor(0xb3, 0x1d, 0x1d), label->palette()));
    label->setPalette(palette);
    label->setVisible(false);
    return label;
}

void showProblem(QLabel *label, const QString &problem)
{
    label->setText(problem);
    label->setVisible(!problem.isEmpty());
}

Result<Labels> parseLabelText(const QString &text)
{
    if (text.trimmed().isEmpty())
        return Labels();
    QStringList items;
    const QStringList parts = text.split(u',', Qt::SkipEmptyParts);
    for (const QString &part : parts)
        items << part.trimmed();
    return parseLabels(items);
}

ActionDialog::ActionDialog(const QString &title, const QString &text, const QString &acceptText, Kind kind,
                           QWidget *parent)
    : QDialog(parent)
    , m_text(new QLabel(text, this))
    , m_form(new QFormLayout)
    , m_reason(new QLineEdit(this))
    , m_error(createProblemLabel(this))
    , m_buttons(new QDialogButtonBox(QDialogButtonBox::Cancel, this))
    , m_accept(m_buttons->addButton(acceptText, kind == Kind::Destructive ? QDialogButtonBox::DestructiveRole
                                                                          : QDialogButtonBox::AcceptRole))
{
    setWindowTitle(title);
    m_text->setWordWrap(true);
    m_reason->setPlaceholderText(tr("optional, recorded in the audit trail"));
    m_reason->setMaxLength(int(MaxReasonLength));
    m_form->setFieldGrowthPolicy(QFormLayout::ExpandingFieldsGrow);
    m_form->addRow(tr("R&eason:"), m_reason);
    if (kind == Kind::Destructive) {
        m_accept->setIcon(style()->standardIcon(QStyle::SP_DialogDiscardButton));
        m_buttons->button(QDialogButtonBox::Cancel)->setDefault(true);
    } else {
        m_accept->setDefault(true);
    }
    connect(m_accept, &QPushButton::clicked, this, &ActionDialog::accept);
    connect(m_buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);

    auto *layout = new QVBoxLayout(this);
    layout->addWidget(m_text);
    layout->addLayout(m_form);
    layout->addWidget(m_error);
    layout->addStretch();
    layout->addWidget(m_buttons);
    setAttribute(Qt::WA_DeleteOnClose);
    resize(500, sizeHint().height());
}

QString ActionDialog::reason() const
{
    return m_reason->text().trimmed();
}

void ActionDialog::hideReason()
{
    m_reason->setVisible(false);
    if (QWidget *label = m_form->labelForField(m_reason))
        label->setVisible(false);
}

QString ActionDialog::errorText() const
{
    return m_error->text();
}

void ActionDialog::showError(const Error &error)
{
    m_busy = false;
    m_errorCode = error.code;
    // An older orchestrator does not know the method: say so, with its own words.
    showProblem(m_error, error.code == u"unknown_method"
                             ? tr("This orchestrator does not offer this action (it runs an older swamp): %1")
                                   .arg(error.text())
                             : error.text());
    setCursor(Qt::ArrowCursor);
    updateAcceptButton();
}

void ActionDialog::markDone()
{
    m_busy = false;
    QDialog::accept();
}

void ActionDialog::accept()
{
    if (m_busy || !isInputValid())
        return;
    m_busy = true;
    m_errorCode.clear();
    showProblem(m_error, QString());
    setCursor(Qt::BusyCursor);
    updateAcceptButton();
    Q_EMIT confirmed();
}

void ActionDialog::updateAcceptButton()
{
    m_accept->setEnabled(!m_busy && isInputValid());
}

} // namespace Swamp::Console
