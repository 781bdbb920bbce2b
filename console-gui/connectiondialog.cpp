#include "connectiondialog.h"

#include "common/urls.h"

#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSettings>
#include <QVBoxLayout>

namespace Swamp::Console {

namespace {
QWidget *withBrowse(QLineEdit *edit, QPushButton *button, QWidget *parent)
{
    auto *row = new QWidget(parent);
    auto *layout = new QHBoxLayout(row);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(edit, 1);
    layout->addWidget(button);
    return row;
}
} // namespace

ConnectionDialog::ConnectionDialog(QWidget *parent)
    : QDialog(parent)
    , m_url(new QLineEdit(this))
    , m_tokenFile(new QLineEdit(this))
    , m_caCert(new QLineEdit(this))
    , m_message(new QLabel(this))
    , m_buttons(new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this))
{
    setWindowTitle(tr("Connect to an orchestrator"));
    m_url->setPlaceholderText(tr("wss://orchestrator.example.com:9090"));
    m_tokenFile->setPlaceholderText(tr("a file holding the admin token"));
    m_caCert->setPlaceholderText(tr("optional: PEM file of the CA that signed the orchestrator's certificate"));
    m_message->setWordWrap(true);
    m_message->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_buttons->button(QDialogButtonBox::Ok)->setText(tr("&Connect"));

    auto *browseToken = new QPushButton(tr("Browse…"), this);
    auto *browseCa = new QPushButton(tr("Browse…"), this);
    connect(browseToken, &QPushButton::clicked, this, &ConnectionDialog::browseTokenFile);
    connect(browseCa, &QPushButton::clicked, this, &ConnectionDialog::browseCaCert);

    auto *form = new QFormLayout;
    form->setFieldGrowthPolicy(QFormLayout::ExpandingFieldsGrow);
    form->addRow(tr("Orchestrator &URL:"), m_url);
    form->addRow(tr("Admin &token file:"), withBrowse(m_tokenFile, browseToken, this));
    form->addRow(tr("C&A certificate:"), withBrowse(m_caCert, browseCa, this));

    auto *hint = new QLabel(tr("On the orchestrator's machine the admin token is in admin.json in its data "
                               "directory. The console remembers the file's path, never the token."),
                            this);
    hint->setWordWrap(true);

    auto *layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(hint);
    layout->addWidget(m_message);
    layout->addStretch();
    layout->addWidget(m_buttons);
    setTabOrder(m_url, m_tokenFile);
    setTabOrder(m_tokenFile, browseToken);
    setTabOrder(browseToken, m_caCert);
    setTabOrder(m_caCert, browseCa);

    connect(m_buttons, &QDialogButtonBox::accepted, this, &ConnectionDialog::accept);
    connect(m_buttons, &QDialogButtonBox::rejected, this, &ConnectionDialog::reject);
    connect(m_url, &QLineEdit::textChanged, this, &ConnectionDialog::validate);
    connect(m_tokenFile, &QLineEdit::textChanged, this, &ConnectionDialog::validate);

    QSettings settings;
    m_url->setText(settings.value(QStringLiteral("connection/url")).toString());
    m_tokenFile->setText(settings.value(QStringLiteral("connection/adminTokenFile")).toString());
    m_caCert->setText(settings.value(QStringLiteral("connection/caCert")).toString());
    validate();
    resize(560, sizeHint().height());
}

void ConnectionDialog::setMessage(const QString &message)
{
    m_message->setText(message);
}

void ConnectionDialog::validate()
{
    QString problem;
    if (!m_url->text().trimmed().isEmpty()) {
        if (auto url = parseOrchestratorUrl(m_url->text().trimmed()); !url)
            problem = url.error().text();
    }
    m_message->setText(problem);
    m_buttons->button(QDialogButtonBox::Ok)->setEnabled(problem.isEmpty());
}

void ConnectionDialog::browseTokenFile()
{
    const QString path = QFileDialog::getOpenFileName(this, tr("Admin token file"), m_tokenFile->text());
    if (!path.isEmpty())
        m_tokenFile->setText(path);
}

void ConnectionDialog::browseCaCert()
{
    const QString path = QFileDialog::getOpenFileName(this, tr("CA certificate"), m_caCert->text(),
                                                      tr("PEM certificates (*.pem *.crt);;All files (*)"));
    if (!path.isEmpty())
        m_caCert->setText(path);
}

void ConnectionDialog::accept()
{
    AdminEndpointOptions options;
    options.server = m_url->text().trimmed();
    options.adminTokenFile = m_tokenFile->text().trimmed();
    options.caCertPath = m_caCert->text().trimmed();
    auto endpoint = resolveAdminEndpoint(options);
    if (!endpoint) {
        m_message->setText(endpoint.error().text());
        return;
    }
    QSettings settings;
    settings.setValue(QStringLiteral("connection/url"), options.server);
    settings.setValue(QStringLiteral("connection/adminTokenFile"), options.adminTokenFile);
    settings.setValue(QStringLiteral("connection/caCert"), options.caCertPath);
    m_endpoint = *endpoint;
    QDialog::accept();
}

} // namespace Swamp::Console
