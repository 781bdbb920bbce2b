#include "extendtokendialog.h"

#include "common/duration.h"
#include "model/token.h"

#include <QFormLayout>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>

namespace Swamp::Console {

namespace {
QString expiryText(const QDateTime &expiresAt, const QDateTime &now)
{
    if (!expiresAt.isValid())
        return {};
    const QString when = QLocale().toString(expiresAt.toLocalTime(), QLocale::ShortFormat);
    return expiresAt <= now ? ExtendTokenDialog::tr("It expired at %1 (%2).").arg(when, formatRelative(expiresAt, now))
                            : ExtendTokenDialog::tr("It expires at %1 (%2).").arg(when, formatRelative(expiresAt, now));
}
} // namespace

ExtendTokenDialog::ExtendTokenDialog(const QString &token, const QDateTime &expiresAt, int connectedWorkers,
                                     QWidget *parent)
    : ActionDialog(tr("Extend token %1").arg(token),
                   tr("Give enrollment token '%1' a new expiry, counted from now.").arg(token) + u' '
                       + expiryText(expiresAt, QDateTime::currentDateTimeUtc()) + u' '
                       + tr("%n connected worker(s) enrolled with it keep running until the new expiry.", nullptr,
                            connectedWorkers),
                   tr("E&xtend"), Kind::Normal, parent)
    , m_token(token)
    , m_duration(new QLineEdit(QStringLiteral("30d"), this))
    , m_problem(createProblemLabel(this))
    , m_hint(new QLabel(this))
{
    m_duration->setPlaceholderText(tr("45s, 30m, 24h, 7d, 2w"));
    m_hint->setWordWrap(true);
    form()->insertRow(0, tr("&Duration:"), m_duration);
    form()->insertRow(1, QString(), m_problem);
    form()->insertRow(2, QString(), m_hint);
    connect(m_duration, &QLineEdit::textChanged, this, &ExtendTokenDialog::validate);
    validate();
    m_duration->setFocus();
    m_duration->selectAll();
}

QJsonObject ExtendTokenDialog::parameters() const
{
    QJsonObject parameters{{QStringLiteral("name"), m_token},
                           {QStringLiteral("durationMs"), parseTokenLifetime(m_duration->text()).value_or(0)}};
    if (!reason().isEmpty())
        parameters.insert(QStringLiteral("reason"), reason());
    return parameters;
}

bool ExtendTokenDialog::isInputValid() const
{
    return parseTokenLifetime(m_duration->text()).has_value();
}

void ExtendTokenDialog::validate()
{
    const auto duration = parseTokenLifetime(m_duration->text());
    showProblem(m_problem, duration ? QString() : duration.error().text());
    const QDateTime now = QDateTime::currentDateTimeUtc();
    m_hint->setText(duration ? tr("Workers enrolled with it stop at %1 (%2), when it expires, unless it is "
                                  "extended again.")
                                   .arg(QLocale().toString(now.addMSecs(*duration).toLocalTime(), QLocale::ShortFormat),
                                        formatRelative(now.addMSecs(*duration), now))
                             : QString());
    m_hint->setVisible(duration.has_value());
    updateAcceptButton();
}

} // namespace Swamp::Console
