#include "newtokendialog.h"

#include "actiondialog.h"


#include "common/duration.h"
#include "common/labels.h"
#include "model/limits.h"
#include "model/token.h"

#include <QCheckBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

namespace Swamp::Console {


NewTokenDialog::NewTokenDialog(QWidget *parent)
    : QDialog(parent)
    , m_name(new QLineEdit(this))
    , m_duration(new QLineEdit(QStringLiteral("24h"), this))
    , m_maxEnrollments(new QSpinBox(this))
    , m_unlimited(new QCheckBox(tr("&Unlimited"), this))
    , m_labels(new QLineEdit(this))
    , m_reason(new QLineEdit(this))
    , m_nameError(createProblemLabel(this))
    , m_durationError(createProblemLabel(this))
    , m_durationHint(new QLabel(this))
    , m_labelsError(createProblemLabel(this))
    , m_serverError(createProblemLabel(this))
    , m_buttons(new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this))
{
    setWindowTitle(tr("New enrollment token"));
    m_name->setPlaceholderText(tr("for example ci-linux"));
    m_name->setMaxLength(63);
    m_duration->setPlaceholderText(tr("45s, 30m, 24h, 7d, 2w"));
    m_maxEnrollments->setRange(1, 1000000);
    m_maxEnrollments->setValue(1);
    m_maxEnrollments->setToolTip(tr("How many distinct machines may enroll with this token"));
    m_labels->setPlaceholderText(tr("k=v, k=v (added to every worker enrolled on it)"));
    m_reason->setPlaceholderText(tr("optional, e.g. a ticket; recorded in the audit trail"));
    m_reason->setMaxLength(int(MaxReasonLength));
    m_buttons->button(QDialogButtonBox::Ok)->setText(tr("C&reate token"));
    m_durationHint->setWordWrap(true);

    auto *enrollmentsRow = new QWidget(this);
    auto *enrollmentsLayout = new QHBoxLayout(enrollmentsRow);
    enrollmentsLayout->setContentsMargins(0, 0, 0, 0);
    enrollmentsLayout->addWidget(m_maxEnrollments);
    enrollmentsLayout->addWidget(m_unlimited);
    enrollmentsLayout->addStretch();

    auto *form = new QFormLayout;
    form->setFieldGrowthPolicy(QFormLayout::ExpandingFieldsGrow);
    form->addRow(tr("&Name:"), m_name);
    form->addRow(QString(), m_nameError);
    form->addRow(tr("&Duration:"), m_duration);
    form->addRow(QString(), m_durationError);
    form->addRow(QString(), m_durationHint);
    form->addRow(tr("&Max enrollments:"), enrollmentsRow);
    form->addRow(tr("&Labels:"), m_labels);
    form->addRow(QString(), m_labelsError);
    form->addRow(tr("R&eason:"), m_reason);

    auto *layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(m_serverError);
    layout->addStretch();
    layout->addWidget(m_buttons);

    setTabOrder(m_name, m_duration);
    setTabOrder(m_duration, m_maxEnrollments);
    setTabOrder(m_maxEnrollments, m_unlimited);
    setTabOrder(m_unlimited, m_labels);
    setTabOrder(m_labels, m_reason);

    connect(m_buttons, &QDialogButtonBox::accepted, this, &NewTokenDialog::accept);
    connect(m_buttons, &QDialogButtonBox::rejected, this, &NewTokenDialog::reject);
    connect(m_name, &QLineEdit::textChanged, this, &NewTokenDialog::validate);
    connect(m_duration, &QLineEdit::textChanged, this, &NewTokenDialog::validate);
    connect(m_labels, &QLineEdit::textChanged, this, &NewTokenDialog::validate);
    connect(m_unlimited, &QCheckBox::toggled, this, [this](bool unlimited) {
        m_maxEnrollments->setEnabled(!unlimited);
    });
    validate();
    resize(520, sizeHint().height());
}

bool NewTokenDialog::isValid() const
{
    return validateTokenName(m_name->text().trimmed()).has_value()
        && parseTokenLifetime(m_duration->text()).has_value()
        && parseLabelText(m_labels->text()).has_value();
}

void NewTokenDialog::validate()
{
    // An empty name is not an error yet: nobody typed one.
    const QString name = m_name->text().trimmed();
    const auto nameValid = validateTokenName(name);
    showProblem(m_nameError, name.isEmpty() || nameValid ? QString() : nameValid.error().text());

    const auto duration = parseTokenLifetime(m_duration->text());
    showProblem(m_durationError, duration ? QString() : duration.error().text());
    // The token's expiry also ends the sessions of its workers: say when, before it is created.
    const QDateTime now = QDateTime::currentDateTimeUtc();
    m_durationHint->setText(duration ? tr("Workers enrolled with it stop at %1 (%2), when it expires, unless "
                                          "it is extended.")
                                           .arg(QLocale().toString(now.addMSecs(*duration).toLocalTime(),
                                                                   QLocale::ShortFormat),
                                                formatRelative(now.addMSecs(*duration), now))
                                     : QString());
    m_durationHint->setVisible(duration.has_value());

    const auto labels = parseLabelText(m_labels->text());
    showProblem(m_labelsError, labels ? QString() : labels.error().text());

    showProblem(m_serverError, QString());
    m_buttons->button(QDialogButtonBox::Ok)->setEnabled(!m_busy && isValid());
}

QJsonObject NewTokenDialog::parameters() const
{
    QJsonObject parameters{{QStringLiteral("name"), m_name->text().trimmed()},
            {QStringLiteral("durationMs"), parseTokenLifetime(m_duration->text()).value_or(0)},
            {QStringLiteral("maxEnrollments"), m_unlimited->isChecked() ? 0 : m_maxEnrollments->value()},
            {QStringLiteral("labels"), labelsToJson(parseLabelText(m_labels->text()).value_or(Labels()))}};
    if (const QString reason = m_reason->text().trimmed(); !reason.isEmpty())
        parameters.insert(QStringLiteral("reason"), reason);
    return parameters;
}

void NewTokenDialog::setBusy(bool busy)
{
    m_busy = busy;
    m_buttons->button(QDialogButtonBox::Ok)->setEnabled(!m_busy && isValid());
    setCursor(busy ? Qt::BusyCursor : Qt::ArrowCursor);
}

void NewTokenDialog::showError(const QString &message)
{
    showProblem(m_serverError, message);
}

void NewTokenDialog::markCreated()
{
    setBusy(false);
    QDialog::accept();
}

void NewTokenDialog::accept()
{
    if (m_busy || !isValid())
        return;
    setBusy(true);
    Q_EMIT createRequested(parameters());
}

} // namespace Swamp::Console
