#pragma once

#include "client/adminclient.h"

#include <QDialog>

class QDialogButtonBox;
class QLabel;
class QLineEdit;

namespace Swamp::Console {

// Where to connect: orchestrator URL, admin token file, CA certificate. The choices are
// remembered in QSettings; the token itself never is (only the path of its file).
class ConnectionDialog final : public QDialog
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ConnectionDialog)

public:
    explicit ConnectionDialog(QWidget *parent = nullptr);

    void setMessage(const QString &message);
    // Valid after accept().
    AdminEndpoint endpoint() const { return m_endpoint; }

    void accept() override;

private:
    void validate();
    void browseTokenFile();
    void browseCaCert();

    QLineEdit *m_url;
    QLineEdit *m_tokenFile;
    QLineEdit *m_caCert;
    QLabel *m_message;
    QDialogButtonBox *m_buttons;
    AdminEndpoint m_endpoint;
};

} // namespace Swamp::Console
