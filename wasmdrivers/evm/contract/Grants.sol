// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title Grants: the idOS access-grant contract read by the EVM driver
/// (wasmdrivers/evm). Its Grant struct and findGrants follow the public idOS
/// interface; its events differ in one way: besides the indexed dataId,
/// whose topic is only keccak256(dataId), they carry the dataId itself,
/// unindexed in the data, so a driver reads grants from logs alone.
contract Grants {
    struct Grant {
        address owner;
        address grantee;
        string dataId;
        uint256 lockedUntil;
    }

    event GrantAdded(address indexed owner, address indexed grantee, string indexed dataId, uint256 lockedUntil, string dataIdText);
    event GrantDeleted(address indexed owner, address indexed grantee, string indexed dataId, uint256 lockedUntil, string dataIdText);

    mapping(bytes32 => Grant) private grants;

    function key(address owner, address grantee, string memory dataId) private pure returns (bytes32) {
        return keccak256(abi.encode(owner, grantee, dataId));
    }

    /// @notice Grants grantee access to the caller's data dataId until lockedUntil (unix seconds; 0: revocable at once).
    function insertGrant(address grantee, string calldata dataId, uint256 lockedUntil) external {
        bytes32 k = key(msg.sender, grantee, dataId);
        require(grants[k].owner == address(0), "grant exists");
        grants[k] = Grant(msg.sender, grantee, dataId, lockedUntil);
        emit GrantAdded(msg.sender, grantee, dataId, lockedUntil, dataId);
    }

    /// @notice Deletes the caller's grant once its lock has passed.
    function deleteGrant(address grantee, string calldata dataId) external {
        bytes32 k = key(msg.sender, grantee, dataId);
        Grant memory g = grants[k];
        require(g.owner != address(0), "no grant");
        require(g.lockedUntil <= block.timestamp, "grant locked");
        delete grants[k];
        emit GrantDeleted(msg.sender, grantee, dataId, g.lockedUntil, dataId);
    }

    /// @notice The grant of (owner, grantee, dataId); owner is zero if there is none.
    function findGrant(address owner, address grantee, string calldata dataId) external view returns (Grant memory) {
        return grants[key(owner, grantee, dataId)];
    }
}
